"""Configs that ship with the package: `pbml train quickstart`, `pbml config show NAME`.

The repository's `configs/` folder installs as the data package `pbml_control.configs`, so a
wheel install with no checkout still has every documented config, by name ('quickstart',
'halfcheetah_vel', 'baselines/quickstart_greedy', ...). A path that exists always wins over a
name.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pbml_control.errors import UserError

PACKAGE = "pbml_control.configs"


def packaged_configs() -> dict[str, Path]:
    """Name -> file of every packaged config ('baselines/x' for the baselines folder)."""
    found: dict[str, Path] = {}
    try:
        root = resources.files(PACKAGE)
    except ModuleNotFoundError:  # a source tree run without installing: nothing packaged
        return found
    for sub, prefix in ((root, ""), (root / "baselines", "baselines/")):
        if not sub.is_dir():
            continue
        for entry in sub.iterdir():
            if entry.name.endswith(".toml"):
                found[prefix + entry.name[: -len(".toml")]] = Path(str(entry))
    return dict(sorted(found.items()))


def resolve_config(name: str | Path) -> Path:
    """A config file: ``name`` itself when it is a file, else the packaged config of that name
    (with or without '.toml'); UserError listing the packaged names otherwise."""
    path = Path(name)
    if path.is_file():
        return path
    packaged = packaged_configs()
    key = str(name)[: -len(".toml")] if str(name).endswith(".toml") else str(name)
    key = key.removeprefix("configs/")
    if key in packaged and not path.exists():
        return packaged[key]
    raise UserError(
        f"config '{name}' is neither a file nor a packaged config; packaged: "
        f"{', '.join(packaged) or 'none'} (`pbml config show NAME > my.toml` writes one to edit)"
    )
