"""Fault campaign: what an operator does to a run, at random moments, and whether anything is lost.

    python benchmarks/fault_campaign.py [--trials N] [--seed S] [--out DIR]

Each fault is tried N times (random timing or random byte) against real `pbml` processes, and the
table prints trials and passes per fault. "Pass" means, per fault:

- kills and signals to the trainer (SIGKILL, SIGTERM, SIGINT at a random moment): the run resumes
  with `pbml resume` and ends bit-identical to an uninterrupted reference (metrics, lineages,
  lineage shares, best genomes, final checkpoint); SIGTERM exits 143;
- a worker killed or stopped (SIGKILL, SIGSTOP: a hang, busy or idle) at a random moment: the run
  finishes by itself, bit-identical to the reference;
- one byte of the latest checkpoint changed (JSON or npz, random offset): `pbml resume` exits 2
  with one line and the run directory is byte-identical afterwards;
- a bad config value (the list in BAD_VALUES) or an escaping run name: exit 2, one line, no
  traceback, nothing written;
- a full disk (1 MiB tmpfs) or a read-only run directory: one line, no traceback, the last
  checkpoint loads (full disk) or no file changed (read-only). Skipped where mounting is not
  permitted (root only);
- a `pbml study` (toy world, 2 workers) SIGKILLed at a random moment: within 3 s no process of it
  is left and no file of its folder changes any more, and the same command then finishes with
  results identical to an uninterrupted study;
- two `pbml train --overwrite` on one folder at once: one run, whole (one header) and identical
  to the reference; the other exits 2 in one line naming the holder's PID, or ran after it;
- a crafted checkpoint whose digests are recomputed (CRAFTS: a Ray backend and address, a
  retention of 1, NaN weights, a negative observation count, another population size, another
  policy, an inflating archive member): the resume finishes identical to the reference with
  nothing deleted and no connection (settings it may not decide), or exits 2 in one line with
  no file changed (invalid state);
- the trainer's forkserver killed at a random moment: no traceback; the run finishes identical
  to the reference (or stops in one line and resumes identical).

It is a measurement, not a test: the suite's tests cover each fault once, deterministically; this
script samples the timing. About 10 minutes on 2 cores with the default 6 trials; `--out DIR`
keeps the runs.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = [
    "pool.backend=process",
    "pool.workers=2",
    "pool.chunk_size=4",
    "pool.job_timeout_s=4",
    "pool.max_retries=3",
    "population.size=8",
    "task.episode_steps=40",
    "goals.every=3",
    "run.generations=60",
    "run.checkpoint_every=5",
    "run.plots=false",
]
COMPARED = ("metrics.csv", "lineages.csv", "lineage_shares.csv")
BAD_VALUES: list[str | tuple[str, ...]] = [
    *(f"run.seed={v}" for v in ("-1", "1.5", "'x'", "1e30")),
    *(f"run.generations={v}" for v in ("-5", "'ten'", "1.5", "nan")),
    *(f"run.checkpoint_every={v}" for v in ("-1", "'x'")),
    *(f"run.keep_checkpoints={v}" for v in ("-1", "'x'")),
    *(f"run.budget_rollouts={v}" for v in ("-1", "'x'")),
    *(f"run.name={v}" for v in ("'../escape'", "'/tmp/abs'", "'a/b'", "''", "'..'")),
    *(f"task.id={v}" for v in ("'pbml/Nope-v0'", "'this:Zen-v0'", "'Nope-v5'", "3")),
    *(f"task.episode_steps={v}" for v in ("0", "-10", "'x'", "1e12")),
    *(f"task.episodes={v}" for v in ("0", "-1")),
    "task.kwargs={max_episode_steps='x'}",
    "task.kwargs={max_episode_steps=-1}",
    *(f"goals.schedule={v}" for v in ("'sometimes'", "3")),
    *(f"goals.every={v}" for v in ("0", "-3")),
    *(f"goals.split={v}" for v in ("'validation'",)),
    *(f"goals.goal={v}" for v in ("['x']", "[1.0]")),  # [1.0]: the schedule is not 'fixed'
    *(("goals.schedule='fixed'", f"goals.goal={v}") for v in ("[1, 2, 3]", "[nan]", "[inf]")),
    *(f"policy.name={v}" for v in ("'transformer'", "1")),
    *(f"policy.kwargs={v}" for v in ("{hidden=[0]}", "{hidden=[-4]}", "{hidden=[10000000]}")),
    "policy.kwargs={activation='nope'}",
    "policy.kwargs={bogus=1}",
    *(f"population.strategy={v}" for v in ("'best'", "0")),
    *(f"population.size={v}" for v in ("0", "-4", "10000000", "'many'")),
    *(f"population.min_share={v}" for v in ("-0.1", "2", "nan")),
    *(f"population.rank_pressure={v}" for v in ("nan", "inf", "-1")),
    *(f"population.decay={v}" for v in ("nan", "-0.5", "1.5")),
    *(f"population.reevaluate={v}" for v in ("'some'",)),
    *(f"population.mutation.init_sigma={v}" for v in ("-1", "nan", "inf", "0")),
    *(f"population.mutation.init_gate={v}" for v in ("-0.1", "1.5", "nan")),
    *(f"population.mutation.meta_rate={v}" for v in ("nan", "inf", "-1")),
    *(f"population.mutation.sigma_min={v}" for v in ("-1", "nan")),
    *(f"pool.backend={v}" for v in ("'gpu'", "1")),
    *(f"pool.workers={v}" for v in ("0", "-2", "100000")),
    *(f"pool.chunk_size={v}" for v in ("0", "-1")),
    *(f"pool.job_timeout_s={v}" for v in ("0", "-1", "nan", "inf", "1e12")),
    *(f"pool.max_retries={v}" for v in ("-1", "'x'")),
    "nosuch.key=1",
    "run.nosuch=1",
    "run.seed",
    "=1",
]


def pbml(args: list[str], **kwargs) -> subprocess.Popen:
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    cmd = [sys.executable, "-m", "pbml_control", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=kwargs.get("cwd", ROOT))  # fmt: skip


def settings(extra: list[str] = ()) -> list[str]:
    return [a for o in [*BASE, *extra] for a in ("--set", o)]


def train(out: Path, extra: list[str] = ()) -> subprocess.Popen:
    return pbml(["train", str(ROOT / "configs" / "quickstart.toml"), "--quiet", "--out", str(out),
                 *settings(extra)])  # fmt: skip


def finish(proc: subprocess.Popen, timeout: float = 600) -> tuple[int, str]:
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def digest(run: Path) -> dict[str, str]:
    """What must be identical between a faulted run and the reference: every metric but the
    wall-clock `time/` columns, the lineage files, `best/`, and the final checkpoint's arrays."""
    import csv

    import numpy as np

    from pbml_control.running.checkpoint import load_checkpoint

    def text_of(value: object) -> str:
        return hashlib.sha256(repr(value).encode()).hexdigest()

    with open(run / "metrics.csv", newline="") as fh:
        rows = [
            {k: v for k, v in r.items() if not k.startswith("time/")} for r in csv.DictReader(fh)
        ]
    found = {"metrics.csv": text_of(rows)}
    for name in COMPARED[1:]:
        found[name] = hashlib.sha256((run / name).read_bytes()).hexdigest()
    for path in sorted((run / "best").glob("*")):
        found[f"best/{path.name}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    arrays = load_checkpoint(run)[0]
    for key in sorted(arrays):
        found[f"checkpoint/{key}"] = hashlib.sha256(np.ascontiguousarray(arrays[key])).hexdigest()
    return found


def tree(run: Path) -> dict[str, str]:
    """Every file's bytes: for 'nothing changed'."""
    return {str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(run.rglob("*")) if p.is_file()}  # fmt: skip


def one_line_error(code: int, err: str, expected: int = 2) -> bool:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    return code == expected and len(lines) == 1 and "Traceback" not in err


def workers_of(pid: int) -> list[int]:
    """The pool's worker processes: children of the trainer's forkserver."""
    found = []
    for child in _children(pid):
        if "forkserver" in Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace"):
            found += _children(child)
    return found


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (the study's forkserver, workers, resource tracker)."""
    found, todo = [], [pid]
    while todo:
        for child in _children(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


#: Crafted checkpoint edits whose digests are then recomputed (the digests have no key).
CRAFTS = ("ray_address", "keep_one", "nan_weights", "negative_count", "population_size",
          "policy", "inflating_member")  # fmt: skip
#: Edits of settings a checkpoint may not decide: the resume ignores them and finishes.
OPERATIONAL_CRAFTS = ("ray_address", "keep_one")


def apply_craft(path: Path, craft: str) -> None:
    """Edit checkpoint ``path`` as ``craft`` says, then recompute both of its digests."""
    import io
    import json
    import zipfile

    import numpy as np

    from pbml_control.running.checkpoint import json_digest

    meta = json.loads(path.read_text())
    npz = path.with_suffix(".npz")
    with np.load(npz) as data:
        arrays = {k: data[k] for k in data.files}
    if craft == "ray_address":
        meta["config"] = meta["config"].replace('backend = "process"', 'backend = "ray"')
        meta["config"] = meta["config"].replace('address = ""', 'address = "127.0.0.1:6379"')
    elif craft == "keep_one":
        meta["config"] = meta["config"].replace("keep_checkpoints = 0", "keep_checkpoints = 1")
    elif craft == "nan_weights":
        arrays["pop.params"][:] = np.nan
    elif craft == "negative_count":
        arrays["obs.count"] = np.array(-10.0)
    elif craft == "population_size":
        meta["config"] = meta["config"].replace("size = 8", "size = 6", 1)
    elif craft == "policy":
        meta["policy"]["activation"] = "relu"
    buffer = io.BytesIO()
    if craft == "inflating_member":
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for key, value in arrays.items():
                member = io.BytesIO()
                np.save(member, value)
                archive.writestr(f"{key}.npy", member.getvalue())
            member = io.BytesIO()
            np.save(member, np.zeros(32 * 2**20))  # 256 MiB of zeros, a few hundred KB packed
            archive.writestr("pop.extra.npy", member.getvalue())
    else:
        np.savez(buffer, **arrays)
    npz.write_bytes(buffer.getvalue())
    meta["npz_sha256"] = hashlib.sha256(buffer.getvalue()).hexdigest()
    meta["json_sha256"] = json_digest(meta)
    path.write_text(json.dumps(meta))


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


class Campaign:
    def __init__(self, work: Path, rng: random.Random, trials: int) -> None:
        self.work, self.rng, self.trials = work, rng, trials
        self.rows: list[tuple[str, int, int, str]] = []
        self.reference = work / "reference"
        t0 = time.perf_counter()
        code, err = finish(train(self.reference))
        assert code == 0, err
        self.duration = time.perf_counter() - t0
        self.expected = digest(self.reference)
        self.count = 0
        #: Trainer signals that landed before the run directory existed (trained again).
        self.early = 0

    def fresh(self) -> Path:
        self.count += 1
        return self.work / f"t{self.count}"

    def record(self, name: str, results: list[tuple[bool, str]]) -> None:
        notes = sorted({note for ok, note in results if not ok and note})
        passed = sum(ok for ok, _ in results)
        self.rows.append((name, len(results), passed, "; ".join(notes)[:200]))
        print(f"{name}: {passed}/{len(results)}  {'; '.join(notes)[:200]}", flush=True)

    def repeat(self, name: str, trial: Callable[[], tuple[bool, str]], n: int | None = None):
        self.record(name, [trial() for _ in range(n or self.trials)])

    # -- the trainer gets a signal --------------------------------------------------------------
    def trainer_signal(self, sig: int) -> tuple[bool, str]:
        out = self.fresh()
        proc = train(out)
        time.sleep(self.rng.uniform(0.3, self.duration * 0.9))
        proc.send_signal(sig)
        code, err = finish(proc)
        if sig == signal.SIGTERM and code not in (0, 143):
            return False, f"SIGTERM exit {code}"
        if "Traceback" in err:
            return False, "traceback: " + err.strip().splitlines()[-1][:80]
        if not out.exists():  # stopped before `pbml train` made the folder: nothing to resume
            self.early += 1
            code, err = finish(train(out))
        else:
            code, err = finish(pbml(["resume", str(out), "--quiet"]))
        if code != 0:
            return False, f"resume exit {code}: {err.strip()[-100:]}"
        return (digest(out) == self.expected, "differs from the reference")

    # -- a worker dies or hangs -----------------------------------------------------------------
    def worker_signal(self, sig: int) -> tuple[bool, str]:
        out = self.fresh()
        proc = train(out)
        deadline = time.perf_counter() + self.rng.uniform(1.0, self.duration * 0.9)
        workers: list[int] = []
        while time.perf_counter() < deadline or not workers:
            workers = workers_of(proc.pid)
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        if workers and proc.poll() is None:
            os.kill(self.rng.choice(workers), sig)
        code, err = finish(proc)
        if code != 0:
            return False, f"exit {code}: {err.strip()[-100:]}"
        return (digest(out) == self.expected, "differs from the reference")

    # -- damaged checkpoints --------------------------------------------------------------------
    def damaged_checkpoint(self, suffix: str) -> tuple[bool, str]:
        out = self.fresh()
        shutil.copytree(self.reference, out)
        target = sorted((out / "checkpoints").glob(f"gen_*{suffix}"))[-1]
        data = bytearray(target.read_bytes())
        at = self.rng.randrange(len(data))
        data[at] = (data[at] + self.rng.randrange(1, 256)) % 256
        target.write_bytes(bytes(data))
        before = tree(out)
        code, err = finish(pbml(["resume", str(out), "--generations", "80", "--quiet"]))
        if not one_line_error(code, err) or "checkpoint" not in err:
            return False, f"byte {at}: exit {code}, {err.strip()[-80:]!r}"
        return (tree(out) == before, f"byte {at}: files changed")

    # -- bad input ------------------------------------------------------------------------------
    def bad_values(self) -> None:
        results = []
        for value in BAD_VALUES:
            out = self.fresh()
            code, err = finish(train(out, [value] if isinstance(value, str) else list(value)))
            ok = one_line_error(code, err) and not out.exists()
            results.append((ok, "" if ok else f"{value}: exit {code} {err.strip()[-60:]!r}"))
        self.record(f"bad config values ({len(BAD_VALUES)} values, once each)", results)

    # -- disks ----------------------------------------------------------------------------------
    def mount(self, size: str) -> Path | None:
        where = self.fresh()
        where.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                              capture_output=True)  # fmt: skip
        return where if done.returncode == 0 else None

    def full_disk(self) -> tuple[bool, str]:
        disk = self.mount("1m")
        if disk is None:
            return False, "skipped: cannot mount"
        try:
            out = disk / "run"
            extra = ["run.generations=200", "run.checkpoint_every=1", "run.keep_checkpoints=0"]
            code, err = finish(train(out, extra))
            if not one_line_error(code, err, expected=1) or "No space" not in err:
                return False, f"exit {code}: {err.strip()[-80:]!r}"
            check = "from pathlib import Path; from pbml_control.running.checkpoint import "
            check += "list_checkpoints, load_checkpoint; load_checkpoint(list_checkpoints("
            check += f"Path('{out}/checkpoints'))[-1])"
            done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
            return done.returncode == 0, f"the last checkpoint does not load: {done.stderr[-80:]}"
        finally:
            subprocess.run(["umount", "-l", str(disk)], capture_output=True)

    def read_only(self) -> tuple[bool, str]:
        disk = self.mount("8m")
        if disk is None:
            return False, "skipped: cannot mount"
        try:
            out = disk / "run"
            shutil.copytree(self.reference, out)
            before = tree(out)
            subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
            code, err = finish(pbml(["resume", str(out), "--generations", "80", "--quiet"]))
            if not one_line_error(code, err, expected=1):
                return False, f"exit {code}: {err.strip()[-80:]!r}"
            return tree(out) == before, "files changed"
        finally:
            subprocess.run(["umount", "-l", str(disk)], capture_output=True)

    # -- a study is killed ----------------------------------------------------------------------
    def study_files(self) -> Path:
        study = ROOT / "studies" / "moving_target.toml"
        text = study.read_text().replace('base = "../configs', f'base = "{ROOT}/configs')
        path = self.work / "study.toml"
        path.write_text(text.replace("run.budget_rollouts=25600", "run.budget_rollouts=64000"))
        return path

    def study_kill(self) -> tuple[bool, str]:
        spec = self.study_files()
        if not hasattr(self, "study_reference"):
            self.study_reference = self.fresh()
            code, err = finish(pbml(["study", str(spec), "--out", str(self.study_reference)]))
            assert code == 0, err
        out = self.fresh()
        proc = pbml(["study", str(spec), "--out", str(out), "--workers", "2"])
        time.sleep(self.rng.uniform(2.0, 25.0))
        family = descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)
        time.sleep(1.0)  # not reaped yet: its workers must see a zombie as gone
        proc.wait(timeout=30)
        time.sleep(2.0)
        left = [pid for pid in family if Path(f"/proc/{pid}").exists()]
        before = tree(out) if out.exists() else {}
        time.sleep(2.0)
        if left or (out.exists() and tree(out) != before):
            return False, f"{len(left)} processes left, files changing: {tree(out) != before}"
        code, err = finish(pbml(["study", str(spec), "--out", str(out), "--workers", "2"]))
        if code != 0:
            return False, f"rerun exit {code}: {err.strip()[-80:]}"
        same = (out / "results.csv").read_text() == (
            self.study_reference / "results.csv"
        ).read_text()
        return same, "results differ from the uninterrupted study"

    # -- two writers ----------------------------------------------------------------------------
    def two_writers(self) -> tuple[bool, str]:
        out = self.fresh()
        args = ["train", str(ROOT / "configs" / "quickstart.toml"), "--quiet", "--overwrite",
                "--out", str(out), *settings()]  # fmt: skip
        procs = [pbml(args) for _ in range(2)]
        done = [finish(p) for p in procs]
        codes = sorted(code for code, _ in done)
        if codes[0] != 0 or codes[1] not in (0, 2):
            return False, f"exits {codes}: {done[0][1].strip()[-60:]} {done[1][1].strip()[-60:]}"
        for code, err in done:
            if code == 2 and not (one_line_error(code, err) and "(PID" in err):
                return False, f"refusal: {err.strip()[-80:]!r}"
        header = (out / "metrics.csv").read_text().splitlines()
        if sum(line.startswith("generation") for line in header) != 1:
            return False, "metrics.csv has two headers"
        return digest(out) == self.expected, "differs from the reference"

    # -- crafted, re-signed checkpoints -----------------------------------------------------------
    def crafted(self, craft: str) -> tuple[bool, str]:
        out = self.fresh()
        shutil.copytree(self.reference, out)
        found = sorted((out / "checkpoints").glob("gen_*.json"))
        for path in found[-2:]:  # back to the one before the end: the resume has work to do
            if path != found[-2]:
                path.unlink()
                path.with_suffix(".npz").unlink()
        shutil.rmtree(out / "best")
        latest = found[-2]
        apply_craft(latest, craft)
        kept = len(list((out / "checkpoints").glob("gen_*.json")))
        before = tree(out)
        code, err = finish(pbml(["resume", str(out), "--quiet"]))
        if craft in OPERATIONAL_CRAFTS:
            if code != 0:
                return False, f"{craft}: exit {code}: {err.strip()[-80:]}"
            if len(list((out / "checkpoints").glob("gen_*.json"))) < kept:
                return False, f"{craft}: checkpoints deleted"
            return digest(out) == self.expected, f"{craft}: differs from the reference"
        if not one_line_error(code, err):
            return False, f"{craft}: exit {code}: {err.strip()[-80:]!r}"
        return tree(out) == before, f"{craft}: files changed"

    # -- the forkserver is killed ---------------------------------------------------------------
    def forkserver_kill(self) -> tuple[bool, str]:
        out = self.fresh()
        proc = train(out)
        deadline = time.perf_counter() + self.rng.uniform(1.0, self.duration * 0.9)
        server = None
        while time.perf_counter() < deadline or server is None:
            server = next((c for c in _children(proc.pid) if "forkserver" in Path(
                f"/proc/{c}/cmdline").read_bytes().decode(errors="replace")), None)  # fmt: skip
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        if server is not None and proc.poll() is None:
            os.kill(server, signal.SIGKILL)
        code, err = finish(proc)
        if "Traceback" in err:
            return False, "traceback: " + err.strip().splitlines()[-1][:80]
        if code != 0:
            if not one_line_error(code, err, expected=code):
                return False, f"exit {code}: {err.strip()[-80:]!r}"
            code, err = finish(pbml(["resume", str(out), "--quiet"]))
            if code != 0:
                return False, f"resume exit {code}: {err.strip()[-80:]}"
        return digest(out) == self.expected, "differs from the reference"

    def run_all(self, only: set[str] | None = None) -> None:
        if only:
            for name in sorted(only):
                getattr(self, f"rows_{name}")()
            return
        self.rows_classic()
        self.rows_second()

    def rows_second(self) -> None:
        """The second campaign's faults (saved files as data, one writer per folder)."""
        self.repeat("`pbml study` SIGKILL at a random moment, then rerun", self.study_kill)
        self.repeat("two `pbml train --overwrite` on one folder at once", self.two_writers)
        self.record(
            f"crafted re-signed checkpoints ({len(CRAFTS)} kinds x {max(1, self.trials // 3)})",
            [self.crafted(c) for c in CRAFTS for _ in range(max(1, self.trials // 3))],
        )
        self.repeat("the trainer's forkserver SIGKILLed at a random moment", self.forkserver_kill)

    def rows_classic(self) -> None:
        kill, term, intr, stop = signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGSTOP
        timed = [
            ("trainer SIGKILL at a random moment, then resume", self.trainer_signal, kill),
            (
                "trainer SIGTERM at a random moment (exit 143), then resume",
                self.trainer_signal,
                term,
            ),
            ("trainer SIGINT at a random moment, then resume", self.trainer_signal, intr),
            ("worker SIGKILL at a random moment", self.worker_signal, kill),
            ("worker SIGSTOP (hang, busy or idle) at a random moment", self.worker_signal, stop),
        ]
        for name, fault, sig in timed:
            self.repeat(name, lambda f=fault, s=sig: f(s))
        for part in (".json", ".npz"):
            name = f"one byte changed in the latest checkpoint {part[1:]}"
            self.repeat(name, lambda p=part: self.damaged_checkpoint(p), 3 * self.trials)
        self.bad_values()
        self.repeat("disk full during training (1 MiB tmpfs)", self.full_disk, 2)
        self.repeat("read-only run directory on resume", self.read_only, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6, help="trials per timed fault")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault timing")
    parser.add_argument("--out", type=Path, default=None, help="keep the runs here")
    parser.add_argument(
        "--only", default="", help="comma-separated row groups: classic, second (default: all)"
    )
    args = parser.parse_args()
    work = args.out or Path(tempfile.mkdtemp(prefix="pbml-faults-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    campaign = Campaign(work, random.Random(args.seed), args.trials)
    print(f"reference run: {campaign.duration:.1f} s", flush=True)
    campaign.run_all({g for g in args.only.split(",") if g} or None)
    print("\n| fault | trials | passed | failures |\n|---|---|---|---|")
    for name, n, passed, notes in campaign.rows:
        print(f"| {name} | {n} | {passed} | {notes} |")
    print(f"\n{campaign.early} trainer signals landed before the run directory existed")
    print(f"{time.perf_counter() - t0:.0f} s; runs in {work}")
    if args.out is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
