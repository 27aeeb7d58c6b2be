"""A study file: arms, seeds, budget, the common probe and the pre-registered hypotheses.

A study (``pbml study STUDY.toml``) runs every (arm, seed) as an ordinary run and scores every
final population with one common adaptation probe. The file is the pre-registration: it is
written before any result is seen, and the study folder keeps the resolved copy it ran with
(``study.json``). Running a changed file against an existing folder is refused with the changes
named, so results of two designs never mix; a changed design is a new study file.

```toml
[study]
name = "learning_to_learn"
kind = "train"                      # 'train' (pbml train runs) or 'moving' (the toy world)
base = "../configs/quickstart.toml" # relative to the study file
seeds = 10                          # seeds 0..9, or a list
set = ["run.budget_rollouts=25600"] # overrides for every arm

[arms.pbml]
set = []
[arms.pbml_frozen]
set = ["population.mutation.frozen=true"]

[probe]                             # the same for every arm
goals = 8                           # K held-out goals (split 'test')
goal_draw = "per_seed"              # K goals per seed, stratified over the test bands; or 'common'
env_seeds = 1                       # S environment seeds per goal
generations = 5                     # G
at = [1, 3, 5]                      # generations whose scores are reported
primary = 5                         # the generation hypotheses on the probe use
score = "f"                         # 'f': best fitness f_g (the paper's); 'gain': normalised
strategy = "truncation"
population = 64
reference = 0.0                     # the fitness the gain is normalised towards
budgets = [25600]                   # also probe each run where it had spent these rollouts
swap = true                         # also probe final genomes with the initial mutation function

[[hypotheses]]
name = "H1"
text = "PBML with an evolved mutation function adapts faster than with it frozen"
treatment = "pbml"
control = "pbml_frozen"
measure = "probe"                   # 'probe' (probe.score at primary), 'f@3', 'gain@3', 'in_run'
margin = 0.0                        # > 0: "at least as fast as", within the margin
family = "primary"                  # Holm's adjustment runs within each family
# probe = "final"                   # the treatment's probe: 'final', 'swap', 'budget=25600'
# control_probe = "swap"            # the control's (default: the same as the treatment's)
# growth_from = "budget=25600"      # test the growth of the difference since this probe
```
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pbml_control.errors import ConfigError, UserError
from pbml_control.running.config import Config, load_config
from pbml_control.running.config_io import from_dict
from pbml_control.study.design import LATER_KEYS, design_toml, without_later
from pbml_control.study.probe_spec import FINAL, PLAIN, ProbeSpec, check_probe, measure_generation

KINDS = ("train", "moving", "subspace")
#: What a run, study or arm name may be (it becomes a folder name), as for run.name.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
#: Most seeds a study may run.
MAX_SEEDS = 10_000


@dataclass
class Hypothesis:
    #: Short name (H1, ...).
    name: str
    #: The claim in words.
    text: str
    #: The arm expected to be better.
    treatment: str
    #: The arm it is compared with, paired by seed.
    control: str
    #: 'probe' (gain at probe.primary), 'probe@G' (gain at generation G) or 'in_run'.
    measure: str = "probe"
    #: 0: superiority; > 0: "at least as good", treatment > control - margin.
    margin: float = 0.0
    #: Hypotheses are Holm-adjusted within their family ('primary', 'secondary', ...), and
    #: the report shows each family apart.
    family: str = "primary"
    #: The treatment's probe set: 'final', 'swap' or 'budget=B' (one of probe.budgets).
    probe: str = FINAL
    #: The control's probe set ('' = the same as the treatment's). The control may be the
    #: treatment's arm when the probe sets differ: 'final' vs 'swap' is the swap contrast.
    control_probe: str = ""
    #: A probe set ('' = none): test the growth of the paired difference from that probe set
    #: to `probe`, i.e. (T - C at probe) - (T - C at growth_from), a difference in differences.
    growth_from: str = ""

    @property
    def control_set(self) -> str:
        return self.control_probe or self.probe


@dataclass
class Arm:
    #: Overrides on top of the base config and the study's common overrides.
    set: list[str] = field(default_factory=list)
    #: The seeds this arm runs: 0 (all of the study's), a count n (the first n of them) or a
    #: list (each one of the study's). Hypotheses pair the seeds two arms share.
    seeds: int | list[int] = 0
    #: Runs go stage by stage (lowest first), seed by seed within a stage: a study that must
    #: stop early (a compute cap) then has its first stages whole.
    stage: int = 0


@dataclass
class StudyHead:
    name: str = "study"
    #: One line on what the study asks.
    description: str = ""
    #: 'train': every run is `pbml train`; 'moving': the moving-target toy world.
    kind: str = "train"
    #: Base config file, relative to the study file ('' for the defaults).
    base: str = ""
    #: Number of seeds (0..n-1) or the list of seeds.
    seeds: int | list[int] = 10
    #: Overrides applied to every arm.
    set: list[str] = field(default_factory=list)


@dataclass
class Study:
    """A resolved study: every arm's full config, the seeds, the probe and the hypotheses."""

    head: StudyHead
    arms: dict[str, Config]
    seeds: list[int]
    probe: ProbeSpec
    hypotheses: list[Hypothesis]
    source: Path | None = None
    #: Per arm, its seeds when they are not all of `seeds` (see `Arm.seeds`).
    arm_seeds: dict[str, list[int]] = field(default_factory=dict)
    #: Per arm, its stage when not 0 (see `Arm.stage`).
    arm_stages: dict[str, int] = field(default_factory=dict)

    def seeds_of(self, arm: str) -> list[int]:
        return self.arm_seeds.get(arm, self.seeds)

    def jobs(self) -> list[tuple[str, int]]:
        """(arm, seed) in run order: stage by stage, seed-major within a stage, so a study
        stopped part way holds whole pairs."""
        stages = sorted({self.arm_stages.get(arm, 0) for arm in self.arms})
        return [
            (arm, seed)
            for stage in stages
            for seed in self.seeds
            for arm in self.arms
            if self.arm_stages.get(arm, 0) == stage and seed in self.seeds_of(arm)
        ]

    def run_config(self, arm: str, seed: int) -> Config:
        cfg = copy.deepcopy(self.arms[arm])
        cfg.run.seed = seed
        cfg.run.name = f"{arm}_seed{seed}"
        return cfg

    def resolved(self) -> dict[str, Any]:
        """Everything that decides the results, as plain JSON (what study.json holds).

        Keys added after studies were first published are left out at the value that gives the
        old behaviour (`LATER_KEYS`), so an older study folder keeps its fingerprint."""
        per_arm = {"arm_seeds": self.arm_seeds, "arm_stages": self.arm_stages}
        return {
            "name": self.head.name,
            "kind": self.head.kind,
            "seeds": self.seeds,
            **{key: value for key, value in per_arm.items() if value},
            "arms": {name: design_toml(cfg) for name, cfg in self.arms.items()},
            "probe": without_later(asdict(self.probe), LATER_KEYS["probe"]),
            "hypotheses": [without_later(asdict(h), LATER_KEYS["hypothesis"]) for h in
                           self.hypotheses],
        }  # fmt: skip

    def fingerprint(self) -> str:
        text = json.dumps(self.resolved(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_study(path: str | Path) -> Study:
    """Read and check a study file; errors name the key and the file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"study file '{path}' does not exist") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise UserError(f"study file '{path}' cannot be read: {err}") from err
    try:
        return _build(data, path)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from err


def _build(data: dict[str, Any], path: Path) -> Study:
    unknown = sorted(set(data) - {"study", "arms", "probe", "hypotheses"})
    if unknown:
        raise ConfigError(f"unknown section(s) {unknown}; expected study, arms, probe, hypotheses")
    head = from_dict(StudyHead, data.get("study", {}), prefix="study")
    _check_name("study.name", head.name)
    if head.kind not in KINDS:
        raise ConfigError(f"study.kind must be one of {', '.join(KINDS)}; got '{head.kind}'")
    if isinstance(head.seeds, int) and head.seeds > MAX_SEEDS:
        raise ConfigError(f"study.seeds must be at most {MAX_SEEDS:,} seeds, got {head.seeds:,}")
    seeds = list(range(head.seeds)) if isinstance(head.seeds, int) else list(head.seeds)
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ConfigError("study.seeds must be a positive count or a list of distinct seeds >= 0")
    if len(seeds) > MAX_SEEDS or max(seeds) > 2**32 - 1:
        raise ConfigError(
            f"study.seeds must be at most {MAX_SEEDS:,} seeds, each below 2**32; got "
            f"{len(seeds):,} seeds up to {max(seeds):,}"
        )
    arms_data = data.get("arms", {})
    if not isinstance(arms_data, dict) or not arms_data:
        raise ConfigError("a study needs at least one [arms.NAME] table")
    base = (path.parent / head.base) if head.base else None
    arms, arm_seeds, arm_stages = {}, {}, {}
    for name, table in arms_data.items():
        _check_name(f"arm '{name}'", name)
        if not isinstance(table, dict):
            raise ConfigError(f"arms.{name} must be a table ([arms.{name}]), got {table!r}")
        arm = from_dict(Arm, table, prefix=f"arms.{name}")
        mine = _arm_seeds(name, arm.seeds, seeds)
        if mine != seeds:
            arm_seeds[name] = mine
        if arm.stage:
            arm_stages[name] = arm.stage
        try:
            cfg = load_config(base, head.set + arm.set)
        except ConfigError as err:
            raise ConfigError(f"arms.{name}: {err}") from err
        cfg.pool.backend = "serial"  # the study spreads runs over cores, one core per run
        arms[name] = cfg
    probe = from_dict(ProbeSpec, data.get("probe", {}), prefix="probe")
    check_probe(probe)
    if probe.budgets:
        if head.kind != "train":
            raise ConfigError("probe.budgets needs study.kind = 'train' (runs that checkpoint)")
        for name, cfg in arms.items():
            _keep_budgets(name, cfg, probe.budgets)
    hypotheses = [
        from_dict(Hypothesis, h, prefix=f"hypotheses[{i}]")
        for i, h in enumerate(data.get("hypotheses", []))
    ]
    for h in hypotheses:
        _check_hypothesis(h, arms, probe)
    return Study(head, arms, seeds, probe, hypotheses, path, arm_seeds, arm_stages)


def _check_name(what: str, name: str) -> None:
    """Names that become folder names are plain: nothing a study writes leaves its folder."""
    if not isinstance(name, str) or not _PLAIN_NAME.fullmatch(name) or name in (".", ".."):
        raise ConfigError(
            f"{what} must be a plain name (letters, digits, '.', '_', '-'; no '/'), got {name!r}"
        )


def _arm_seeds(name: str, value: int | list[int], seeds: list[int]) -> list[int]:
    if isinstance(value, int):
        if value < 0 or value > len(seeds):
            raise ConfigError(
                f"arms.{name}.seeds must be 0 (all) or a count up to {len(seeds)}, got {value}"
            )
        return seeds[:value] if value else seeds
    unknown = sorted(set(value) - set(seeds))
    if not value or unknown or len(set(value)) != len(value):
        raise ConfigError(
            f"arms.{name}.seeds must list distinct seeds of study.seeds; not in it: {unknown}"
        )
    return [s for s in seeds if s in value]


def _keep_budgets(name: str, cfg: Config, budgets: list[int]) -> None:
    """Make an arm's runs keep a checkpoint at every probed budget, inside its own budget."""
    final = cfg.run.budget_rollouts
    if not final or any(b >= final for b in budgets):
        raise ConfigError(
            f"arms.{name}: probe.budgets {budgets} must lie below the arm's run.budget_rollouts "
            f"({final or 'not set'}); the final population is always probed"
        )
    cfg.run.keep_at_rollouts = sorted(set(cfg.run.keep_at_rollouts) | set(budgets))


def _check_hypothesis(h: Hypothesis, arms: dict[str, Config], probe: ProbeSpec) -> None:
    for role in ("treatment", "control"):
        arm = getattr(h, role)
        if arm not in arms:
            known = ", ".join(arms)
            raise ConfigError(f"hypothesis {h.name}: {role} '{arm}' is not an arm ({known})")
    sets = (h.probe, h.control_set) + ((h.growth_from,) if h.growth_from else ())
    if h.treatment == h.control and h.probe == h.control_set:
        raise ConfigError(
            f"hypothesis {h.name}: treatment and control are the same arm and probe set; "
            "compare two arms, or two probe sets of one arm (control_probe = 'swap')"
        )
    if not math.isfinite(h.margin) or h.margin < 0:
        raise ConfigError(f"hypothesis {h.name}: margin must be a finite number >= 0")
    if not h.family or not PLAIN.fullmatch(h.family):
        raise ConfigError(f"hypothesis {h.name}: family must be a plain word, got '{h.family}'")
    if measure_generation(h.measure, probe) is None:
        if sets != (FINAL, FINAL):
            raise ConfigError(f"hypothesis {h.name}: measure '{h.measure}' takes no probe sets")
        return
    for role, arm, name in (("probe", h.treatment, h.probe), ("control_probe", h.control,
                            h.control_set), ("growth_from", h.treatment, h.growth_from),
                            ("growth_from", h.control, h.growth_from)):  # fmt: skip
        if name and name not in probe.probe_sets(arms[arm].population.mutation.frozen):
            have = ", ".join(probe.probe_sets(arms[arm].population.mutation.frozen))
            raise ConfigError(
                f"hypothesis {h.name}: {role} '{name}' is not a probe set of arm '{arm}' "
                f"({have}; 'swap' needs probe.swap = true and an arm whose mutation evolves, "
                "'budget=B' a B in probe.budgets)"
            )
