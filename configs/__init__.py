"""The documented configs, installed as the data package `pbml_control.configs` (`pbml config
list`; `pbml train NAME`). Nothing to import: the TOML files are the content."""
