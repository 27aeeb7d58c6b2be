"""A study's [probe] table: the common adaptation probe, its probe sets, and what a measure reads.

Every final population of a study is moved to the same held-out goals and evolved for a few
generations; a hypothesis's measure names which score of that probe it tests ('f@5',
'gain@3', 'probe') or a number measured on the whole run ('in_run', 'run:NAME').
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pbml_control.errors import ConfigError

SCORES = ("gain", "f")
GOAL_DRAWS = ("common", "per_seed")
#: The probe set every run has: its final population, as it is.
FINAL = "final"
#: The final genomes with every mutation function reset to the initial one (`probe.swap`).
SWAP = "swap"
#: A plain word: a hypothesis family, or the NAME of a 'run:NAME' measure.
PLAIN = re.compile(r"[A-Za-z0-9_-]+")
#: Limits that keep a probe finite (a typo of 10**9 goals would never end).
MAX_PROBE = {"goals": 1_000, "env_seeds": 100, "generations": 10_000, "population": 100_000}


@dataclass
class ProbeSpec:
    #: K: held-out goals (the task's 'test' split) every final population is moved to.
    goals: int = 3
    #: S: environment seeds per goal.
    env_seeds: int = 2
    #: G: generations of evolution on each probe goal.
    generations: int = 10
    #: Generations at which the normalised gain is reported.
    at: list[int] = field(default_factory=lambda: [1, 3, 5, 10])
    #: The generation whose gain the 'probe' hypotheses test.
    primary: int = 5
    #: The selection every arm's population is probed with (same for all arms).
    strategy: str = "truncation"
    #: Genomes the probe evolves (a final population of another size is resampled by share).
    population: int = 64
    #: The fitness gains are normalised towards: gain = (f_g - f_0) / (reference - f_0).
    reference: float = 0.0
    #: Seed of the probe goals (common to every arm and seed).
    seed: int = 12345
    #: In-run measure: generations after a goal change whose normalised gain is the recovery.
    horizon: int = 5
    #: The score 'probe' hypotheses test: 'gain' (normalised gain, above) or 'f' (the best
    #: fitness after g probe generations, f_g: performance after g learning steps, the
    #: meta-learning objective of Frans & Witkowski 2021). Both are reported.
    score: str = "gain"
    #: 'common': the same K goals for every run (drawn from `seed`); 'per_seed': K goals for
    #: each study seed, stratified over the test split's bands, shared by the arms of a seed,
    #: each goal with its own environment seeds.
    goal_draw: str = "common"
    #: Rollout budgets at which each run is probed too, from the checkpoints it keeps there
    #: (`run.keep_at_rollouts`, set by the study): the probe sets 'budget=B'.
    budgets: list[int] = field(default_factory=list)
    #: Also probe the final genomes of every arm whose mutation function evolves with every
    #: mutation function reset to the initial one (the probe set 'swap'): same weights, goals
    #: and seeds, so 'final' vs 'swap' is perfectly paired.
    swap: bool = False

    def probe_sets(self, frozen: bool) -> list[str]:
        """Names of the probe sets a run of an arm gets ('swap' only where mutation evolves)."""
        sets = [FINAL] + [budget_set(b) for b in self.budgets]
        return sets + ([SWAP] if self.swap and not frozen else [])


def budget_set(budget: int) -> str:
    """The name of the probe set taken where a run had spent ``budget`` rollouts."""
    return f"budget={budget}"


def check_probe(p: ProbeSpec) -> None:
    """ConfigError naming the [probe] key that is out of range or unknown."""
    for key in ("goals", "env_seeds", "generations", "population", "horizon"):
        value = getattr(p, key)
        if value < 1 or value > MAX_PROBE.get(key, value):
            limit = MAX_PROBE.get(key)
            bound = f" and <= {limit:,}" if limit else ""
            raise ConfigError(f"probe.{key} must be >= 1{bound}, got {value}")
    if p.score not in SCORES:
        raise ConfigError(f"probe.score must be one of {', '.join(SCORES)}; got '{p.score}'")
    if p.goal_draw not in GOAL_DRAWS:
        raise ConfigError(
            f"probe.goal_draw must be one of {', '.join(GOAL_DRAWS)}; got '{p.goal_draw}'"
        )
    if any(b <= 0 for b in p.budgets) or p.budgets != sorted(set(p.budgets)):
        raise ConfigError(f"probe.budgets must be increasing rollout counts > 0, got {p.budgets}")
    if not p.at or any(g < 1 or g > p.generations for g in p.at):
        raise ConfigError(f"probe.at must list generations in 1..{p.generations}, got {p.at}")
    if len(set(p.at)) != len(p.at):
        twice = sorted({g for g in p.at if p.at.count(g) > 1})
        raise ConfigError(f"probe.at lists generation(s) {twice} twice; list each once")
    if p.primary not in p.at:
        raise ConfigError(f"probe.primary ({p.primary}) must be one of probe.at {p.at}")


def measure_generation(measure: str, probe: ProbeSpec) -> int | None:
    """The probe generation a measure reads (None for 'in_run'); ConfigError if unknown."""
    return measure_score(measure, probe)[1]


def measure_score(measure: str, probe: ProbeSpec) -> tuple[str, int | None]:
    """(score 'f' or 'gain', generation) a measure reads; ('in_run', None) for 'in_run' and
    ('run:NAME', None) for a run metric (a number the kind measures on the whole run, e.g.
    'run:tracking', or the subspace world's 'run:alignment').

    'probe' is the study's score at probe.primary, 'probe@G' the study's score at G, 'f@G' and
    'gain@G' name the score; G must be one of probe.at."""
    if measure == "in_run":
        return "in_run", None
    if measure.startswith("run:") and PLAIN.fullmatch(measure[4:]):
        return measure, None
    if measure == "probe":
        return probe.score, probe.primary
    score, _, generation = measure.partition("@")
    score = probe.score if score == "probe" else score
    if score in SCORES and generation.isdigit() and int(generation) in probe.at:
        return score, int(generation)
    raise ConfigError(
        f"measure '{measure}' is not 'probe', 'in_run', 'run:NAME', or 'probe@G', 'f@G', "
        f"'gain@G' with G in {probe.at}"
    )
