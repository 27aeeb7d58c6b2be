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
goals = 3                           # K held-out goals (split 'test')
env_seeds = 2                       # S environment seeds per goal
generations = 10                    # G
at = [1, 3, 5, 10]                  # generations whose gain is reported
primary = 5                         # the generation hypotheses on the probe use
strategy = "truncation"
population = 64
reference = 0.0                     # the fitness the gain is normalised towards

[[hypotheses]]
name = "H1"
text = "PBML with an evolved mutation function adapts faster than with it frozen"
treatment = "pbml"
control = "pbml_frozen"
measure = "probe"                   # or 'in_run' (late - early recovery), or 'probe@3', ...
margin = 0.0                        # > 0: "at least as fast as", within the margin
```
"""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pbml_control.errors import ConfigError, UserError
from pbml_control.running.config import Config, dump_config, load_config
from pbml_control.running.config_io import from_dict

KINDS = ("train", "moving")
MEASURES = ("probe", "in_run")


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


@dataclass
class Arm:
    #: Overrides on top of the base config and the study's common overrides.
    set: list[str] = field(default_factory=list)


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

    def run_config(self, arm: str, seed: int) -> Config:
        cfg = copy.deepcopy(self.arms[arm])
        cfg.run.seed = seed
        cfg.run.name = f"{arm}_seed{seed}"
        return cfg

    def resolved(self) -> dict[str, Any]:
        """Everything that decides the results, as plain JSON (what study.json holds)."""
        return {
            "name": self.head.name,
            "kind": self.head.kind,
            "seeds": self.seeds,
            "arms": {name: dump_config(cfg) for name, cfg in self.arms.items()},
            "probe": asdict(self.probe),
            "hypotheses": [asdict(h) for h in self.hypotheses],
        }

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
    if head.kind not in KINDS:
        raise ConfigError(f"study.kind must be one of {', '.join(KINDS)}; got '{head.kind}'")
    seeds = list(range(head.seeds)) if isinstance(head.seeds, int) else list(head.seeds)
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ConfigError("study.seeds must be a positive count or a list of distinct seeds >= 0")
    arms_data = data.get("arms", {})
    if not isinstance(arms_data, dict) or not arms_data:
        raise ConfigError("a study needs at least one [arms.NAME] table")
    base = (path.parent / head.base) if head.base else None
    arms = {}
    for name, table in arms_data.items():
        arm = from_dict(Arm, table, prefix=f"arms.{name}")
        try:
            cfg = load_config(base, head.set + arm.set)
        except ConfigError as err:
            raise ConfigError(f"arms.{name}: {err}") from err
        cfg.pool.backend = "serial"  # the study spreads runs over cores, one core per run
        arms[name] = cfg
    probe = from_dict(ProbeSpec, data.get("probe", {}), prefix="probe")
    _check_probe(probe)
    hypotheses = [
        from_dict(Hypothesis, h, prefix=f"hypotheses[{i}]")
        for i, h in enumerate(data.get("hypotheses", []))
    ]
    for h in hypotheses:
        _check_hypothesis(h, arms, probe)
    return Study(head, arms, seeds, probe, hypotheses, path)


def _check_probe(p: ProbeSpec) -> None:
    for key in ("goals", "env_seeds", "generations", "population", "horizon"):
        if getattr(p, key) < 1:
            raise ConfigError(f"probe.{key} must be >= 1, got {getattr(p, key)}")
    if not p.at or any(g < 1 or g > p.generations for g in p.at):
        raise ConfigError(f"probe.at must list generations in 1..{p.generations}, got {p.at}")
    if p.primary not in p.at:
        raise ConfigError(f"probe.primary ({p.primary}) must be one of probe.at {p.at}")


def measure_generation(measure: str, probe: ProbeSpec) -> int | None:
    """The probe generation a measure reads (None for 'in_run'); ConfigError if unknown."""
    if measure == "in_run":
        return None
    if measure == "probe":
        return probe.primary
    if measure.startswith("probe@") and measure[6:].isdigit() and int(measure[6:]) in probe.at:
        return int(measure[6:])
    raise ConfigError(
        f"measure '{measure}' is not 'probe', 'in_run' or 'probe@G' with G in {probe.at}"
    )


def _check_hypothesis(h: Hypothesis, arms: dict[str, Config], probe: ProbeSpec) -> None:
    for role in ("treatment", "control"):
        arm = getattr(h, role)
        if arm not in arms:
            known = ", ".join(arms)
            raise ConfigError(f"hypothesis {h.name}: {role} '{arm}' is not an arm ({known})")
    if h.treatment == h.control:
        raise ConfigError(f"hypothesis {h.name}: treatment and control are the same arm")
    if h.margin < 0:
        raise ConfigError(f"hypothesis {h.name}: margin must be >= 0")
    measure_generation(h.measure, probe)


def describe_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between two resolved studies, one line per change."""
    changes = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if key == "arms" and isinstance(a, dict) and isinstance(b, dict):
            for arm in sorted(set(a) | set(b)):
                if arm not in a or arm not in b:
                    changes.append(f"arm '{arm}' {'added' if arm in b else 'removed'}")
                elif a[arm] != b[arm]:
                    changes.append(f"arm '{arm}': {_first_diff(a[arm], b[arm])}")
        elif isinstance(a, dict) and isinstance(b, dict):
            changes += [
                f"{key}.{k}: {json.dumps(a.get(k))} -> {json.dumps(b.get(k))}"
                for k in sorted(set(a) | set(b))
                if a.get(k) != b.get(k)
            ]
        else:
            changes.append(f"{key}: {json.dumps(a)} -> {json.dumps(b)}")
    return changes


def _first_diff(old_toml: str, new_toml: str) -> str:
    """The config keys whose values differ between two dumped configs."""
    flat_old, flat_new = _flatten(tomllib.loads(old_toml)), _flatten(tomllib.loads(new_toml))
    keys = [k for k in sorted(set(flat_old) | set(flat_new)) if flat_old.get(k) != flat_new.get(k)]
    return ", ".join(f"{k} {flat_old.get(k)!r} -> {flat_new.get(k)!r}" for k in keys)


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict) and key != "kwargs":
            out.update(_flatten(value, f"{full}."))
        else:
            out[full] = value
    return out
