"""Evolution: genomes (policy weights plus a per-module mutation function), how they mutate, where
a population starts (founders), its ancestry, and the selection rules that pick who reproduces."""
