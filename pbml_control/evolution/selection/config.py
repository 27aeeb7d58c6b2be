"""Typed configuration of selection strategies and mutation functions.

Defaults suit policy-network weights (small radii); the toy-world experiments build their own
configs. ``validate()`` raises :class:`~pbml_control.errors.ConfigError` naming the field, with
the ``population.`` prefix the trainer's TOML uses for this section.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pbml_control.errors import ConfigError

#: Which survivors are scored again each generation (newborns are always scored).
REEVALUATE = ("all", "top", "none")
#: How pbml_paper scales a share by fitness rank r in [0, 1] (0 = best).
RANK_RULES = ("linear", "exponential")
#: Where a pbml_paper newborn's share comes from.
NEWBORN = ("parent", "fresh")
#: Where the founders' mutation function comes from when `init_from` names a run.
INIT_MUTATION = ("inherit", "initial")
#: How inherited mutation directions change (pbml_control.evolution.directions).
DIRECTION_RULES = ("cumulative", "path", "mutate")
#: Most directions per module a genome may carry.
MAX_DIRECTIONS = 64


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
    #: Control: the mutation function never changes (no self-adaptation); children still mutate
    #: with the radii and gates they inherit, so only the learning of the mutation is switched off.
    frozen: bool = False
    #: Inherited mutation directions per module, k (0: none, the radius-and-gate function).
    #: A child's step is sigma * N(0, I) + sum_i exp(a_i) * w_i * u_i, w_i ~ N(0, 1).
    directions: int = 0
    #: Modules that carry directions (empty: all of them).
    direction_modules: list[str] = field(default_factory=list)
    #: 'cumulative': directions move toward the lineage's evolution path, its cumulated
    #: normalised steps (CMA-ES's rank-one update, inherited); 'path': toward the single step
    #: that made the child; 'mutate': a random rotation that selection alone must sort.
    direction_rule: str = "cumulative"
    #: 'cumulative' and 'path': the weight c of the newest path or step (a memory of about 1/c
    #: births); 'mutate': the std of the rotation per unit of module dimension.
    direction_rate: float = 0.02
    #: 'cumulative': the weight of the newest normalised step in the evolution path (CMA-ES's
    #: c_c; a path memory of about 1/c births).
    direction_path_rate: float = 0.2
    #: Initial scale exp(a) of each direction, in units of the module's initial isotropic step
    #: length init_sigma * sqrt(module size).
    direction_scale: float = 1.0
    #: Std of the Gaussian step added to each child's log direction scales.
    direction_meta_rate: float = 0.1
    #: Control: random directions at the start that never change (scales still adapt).
    directions_frozen: bool = False

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
        for name in ("init_sigma", "meta_rate", "gate_meta_rate", "sigma_min", "sigma_max"):
            _require(math.isfinite(getattr(self, name)), f"{prefix}.{name} must be finite")
        _require(
            0 <= self.directions <= MAX_DIRECTIONS,
            f"{prefix}.directions must be in [0, {MAX_DIRECTIONS}], got {self.directions}",
        )
        _one_of(f"{prefix}.direction_rule", self.direction_rule, DIRECTION_RULES)
        _require(0 < self.direction_rate <= 1, f"{prefix}.direction_rate must be in (0, 1]")
        _require(
            0 < self.direction_path_rate <= 1, f"{prefix}.direction_path_rate must be in (0, 1]"
        )
        _require(
            0 < self.direction_scale < math.inf, f"{prefix}.direction_scale must be finite, > 0"
        )
        _require(
            0 <= self.direction_meta_rate < math.inf,
            f"{prefix}.direction_meta_rate must be finite, >= 0",
        )
        _require(
            len(set(self.direction_modules)) == len(self.direction_modules),
            f"{prefix}.direction_modules lists a module twice: {self.direction_modules}",
        )

    def check_modules(self, names: tuple[str, ...], sizes: tuple[int, ...]) -> None:
        """Direction settings that depend on the policy's modules; ConfigError names the key."""
        if not self.directions:
            return
        unknown = [m for m in self.direction_modules if m not in names]
        _require(
            not unknown,
            f"population.mutation.direction_modules names no module of this policy: {unknown}; "
            f"its modules are {list(names)}",
        )
        for name, size in zip(names, sizes, strict=True):
            carries = not self.direction_modules or name in self.direction_modules
            _require(
                not carries or size >= self.directions,
                f"population.mutation.directions ({self.directions}) exceeds the {size} weights "
                f"of module '{name}'; lower it or leave the module out of direction_modules",
            )


@dataclass
class SelectionConfig:
    """Which strategy selects, how hard, and the article's optional extensions (all off)."""

    #: Selection strategy: pbml (fixed budget: births fill deaths), pbml_paper (C births a
    #: generation whatever died, the paper's rule), greedy, drift, truncation.
    strategy: str = "pbml"
    #: Number of founders; for the fixed-budget strategies also the genomes alive at all times.
    size: int = 64
    #: PBML/drift/pbml_paper: a genome whose share falls below this dies (the paper's 1/1000).
    min_share: float = 1e-3
    #: PBML/drift (and pbml_paper's exponential rule): share *= exp(-rank_pressure * r), r in
    #: [0, 1] the fitness rank, 0 = best.
    rank_pressure: float = 3.0
    #: pbml_paper: children born every generation whatever died (the paper's C); 0 = size // 4.
    offspring: int = 0
    #: pbml_paper: cap on the distinct genomes alive after births; 0 = size.
    max_genomes: int = 0
    #: pbml_paper: the rank rule, 'linear' (share *= 1 - decay * r) or 'exponential'.
    rank_rule: str = "linear"
    #: pbml_paper, linear rule: the share the worst-ranked genome loses per generation (D).
    decay: float = 0.5
    #: pbml_paper: a newborn's share is split from its parent's ('parent') or a fresh
    #: 1/max_genomes ('fresh'), before all shares are renormalised.
    newborn: str = "parent"
    #: Which survivors are scored again each generation: 'all', the 'top' reevaluate_top by
    #: share, or 'none' (fitness carried over while the goal stays the same). Newborns are
    #: always scored, and every genome is scored again when the goal changes.
    reevaluate: str = "all"
    #: reevaluate = 'top': how many survivors (highest share first) are scored again.
    reevaluate_top: int = 8
    #: Start from this run's genomes (a run directory or checkpoint) instead of fresh founders.
    init_from: str = ""
    #: With init_from: 'inherit' keeps each genome's mutation function; 'initial' replaces it by
    #: `mutation.init_sigma` / `init_gate` (the swap control).
    init_mutation: str = "inherit"
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
        _require(math.isfinite(self.rank_pressure), f"{prefix}.rank_pressure must be finite")
        _require(self.offspring >= 0, f"{prefix}.offspring must be >= 0")
        _require(self.max_genomes >= 0, f"{prefix}.max_genomes must be >= 0")
        _require(
            self.strategy != "pbml_paper" or self.births < self.genome_cap,
            f"{prefix}.offspring ({self.births}) must be below max_genomes ({self.genome_cap})",
        )
        _require(0 < self.decay <= 1, f"{prefix}.decay must be in (0, 1]")
        _require(self.reevaluate_top >= 0, f"{prefix}.reevaluate_top must be >= 0")
        _one_of(f"{prefix}.rank_rule", self.rank_rule, RANK_RULES)
        _one_of(f"{prefix}.newborn", self.newborn, NEWBORN)
        _one_of(f"{prefix}.reevaluate", self.reevaluate, REEVALUATE)
        _one_of(f"{prefix}.init_mutation", self.init_mutation, INIT_MUTATION)
        self.mutation.validate(f"{prefix}.mutation")

    @property
    def elites(self) -> int:
        """Truncation's k, with 0 resolved to size // 4 (at least 1)."""
        return self.truncation_k or max(1, self.size // 4)

    @property
    def births(self) -> int:
        """pbml_paper's C, with 0 resolved to size // 4 (at least 1)."""
        return self.offspring or max(1, self.size // 4)

    @property
    def genome_cap(self) -> int:
        """pbml_paper's cap on distinct genomes, with 0 resolved to size."""
        return self.max_genomes or self.size


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _one_of(key: str, value: str, options: tuple[str, ...]) -> None:
    _require(value in options, f"{key} must be one of {', '.join(options)}; got '{value}'")
