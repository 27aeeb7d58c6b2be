"""Selection strategies behind one ask/tell interface, and their registry.

``STRATEGIES`` maps a name to its class; :func:`make_strategy` builds one from a config.
"""

from __future__ import annotations

from pbml_control.errors import ConfigError
from pbml_control.evolution.genome import ModuleLayout
from pbml_control.evolution.selection.base import Strategy, TellReport
from pbml_control.evolution.selection.config import MutationConfig, SelectionConfig
from pbml_control.evolution.selection.drift import DriftStrategy
from pbml_control.evolution.selection.greedy import GreedyStrategy
from pbml_control.evolution.selection.pbml import PBMLStrategy
from pbml_control.evolution.selection.pbml_paper import PBMLPaperStrategy
from pbml_control.evolution.selection.truncation import TruncationStrategy

#: Registered strategies by name; `pbml` is the default.
STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (
        PBMLStrategy, PBMLPaperStrategy, GreedyStrategy, DriftStrategy, TruncationStrategy
    )
}  # fmt: skip


def make_strategy(name: str, cfg: SelectionConfig, layout: ModuleLayout) -> Strategy:
    """The strategy registered as ``name``; ConfigError lists the known names otherwise."""
    try:
        cls = STRATEGIES[name]
    except KeyError:
        known = ", ".join(sorted(STRATEGIES))
        raise ConfigError(f"unknown selection strategy {name!r}; known: {known}") from None
    cfg.mutation.check_modules(layout.names, layout.sizes)
    return cls(cfg, layout)


__all__ = [
    "STRATEGIES",
    "MutationConfig",
    "SelectionConfig",
    "Strategy",
    "TellReport",
    "make_strategy",
]
