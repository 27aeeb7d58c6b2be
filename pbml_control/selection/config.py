"""Typed configuration of selection strategies and mutation functions.

Defaults suit policy-network weights (small radii); the toy-world experiments build their own
configs. ``validate()`` raises :class:`~pbml_control.errors.ConfigError` naming the field, with
the ``population.`` prefix the trainer's TOML uses for this section.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pbml_control.errors import ConfigError


@dataclass
class MutationConfig:
    """The mutation function every genome starts with, and how fast it self-adapts."""

    #: Initial mutation radius of every module (sigma; stored as log).
    init_sigma: float = 0.05
    #: Initial probability that a module mutates in a child (the gate; stored as logit).
    init_gate: float = 0.5
    #: Std of the Gaussian step added to each child's log sigma (self-adaptation meta-rate).
    meta_rate: float = 0.1
    #: Std of the Gaussian step added to each child's gate logit (0 freezes the gates).
    gate_meta_rate: float = 0.2
    #: Lower bound on sigma after self-adaptation.
    sigma_min: float = 1e-5
    #: Upper bound on sigma after self-adaptation.
    sigma_max: float = 10.0
    #: Finite gate logits are clipped to [-gate_logit_bound, gate_logit_bound]; +-inf stay exact.
    gate_logit_bound: float = 8.0

    def validate(self, prefix: str = "population.mutation") -> None:
        _require(self.init_sigma > 0, f"{prefix}.init_sigma must be > 0")
        _require(0.0 <= self.init_gate <= 1.0, f"{prefix}.init_gate must be in [0, 1]")
        _require(self.meta_rate >= 0, f"{prefix}.meta_rate must be >= 0")
        _require(self.gate_meta_rate >= 0, f"{prefix}.gate_meta_rate must be >= 0")
        _require(0 < self.sigma_min <= self.sigma_max, f"{prefix}.sigma_min must be in (0, max]")
        _require(
            self.sigma_min <= self.init_sigma <= self.sigma_max,
            f"{prefix}.init_sigma must lie in [sigma_min, sigma_max]",
        )
        _require(self.gate_logit_bound > 0, f"{prefix}.gate_logit_bound must be > 0")


@dataclass
class SelectionConfig:
    """Which strategy selects, how hard, and the article's optional extensions (all off)."""

    #: Selection strategy: one of pbml, greedy, drift, truncation.
    strategy: str = "pbml"
    #: Number of distinct genomes, i.e. evaluations per generation (the evaluation budget).
    size: int = 64
    #: PBML/drift: a genome whose share falls below this dies (DESIGN.md default 1/1000).
    min_share: float = 1e-3
    #: PBML/drift: each share is multiplied by exp(-rank_pressure * r), r in [0, 1], 0 = best.
    rank_pressure: float = 3.0
    #: Truncation: number of elites kept each generation; 0 means size // 4.
    truncation_k: int = 0
    #: Option: offspring of a parent at rank r get sigma * (1 + low_rank_boost * r); 0 = off.
    low_rank_boost: float = 0.0
    #: Option: probability that an offspring mixes modules with a parent of another lineage.
    mating_rate: float = 0.0
    #: Option: fraction of offspring born as scouts (amplified mutation, grace from death).
    scout_fraction: float = 0.0
    #: Option: factor on sigma for the mutation that creates a scout.
    scout_sigma_scale: float = 5.0
    #: Option: generations a scout is exempt from death after its birth.
    scout_grace: int = 5
    #: The mutation function genomes start with and its self-adaptation.
    mutation: MutationConfig = field(default_factory=MutationConfig)

    def validate(self, prefix: str = "population") -> None:
        _require(self.size > 0, f"{prefix}.size must be > 0")
        _require(0 < self.min_share < 1.0 / self.size, f"{prefix}.min_share must be in (0, 1/size)")
        _require(self.rank_pressure > 0, f"{prefix}.rank_pressure must be > 0")
        _require(
            0 <= self.truncation_k < self.size or self.size == 1,
            f"{prefix}.truncation_k must be in [0, size)",
        )
        _require(self.low_rank_boost >= 0, f"{prefix}.low_rank_boost must be >= 0")
        _require(0 <= self.mating_rate <= 1, f"{prefix}.mating_rate must be in [0, 1]")
        _require(0 <= self.scout_fraction <= 1, f"{prefix}.scout_fraction must be in [0, 1]")
        _require(self.scout_sigma_scale >= 1, f"{prefix}.scout_sigma_scale must be >= 1")
        _require(self.scout_grace >= 0, f"{prefix}.scout_grace must be >= 0")
        self.mutation.validate(f"{prefix}.mutation")

    @property
    def elites(self) -> int:
        """Truncation's k, with 0 resolved to size // 4 (at least 1)."""
        return self.truncation_k or max(1, self.size // 4)


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)
