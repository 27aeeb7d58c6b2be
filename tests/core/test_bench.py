"""`pbml bench`: the table and JSON records have the promised structure (never timing)."""

from __future__ import annotations

import json
import sys

import pytest

from pbml_control.cli import main

KEYS = {"task", "backend", "steps_per_s", "limit_steps_per_s", "ratio_to_limit"}
TASKS = ("pbml/HalfCheetahVel-v0", "pbml/AntDir-v0")


def test_bench_prints_a_table_and_writes_json_records(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as without Ray: its rows are skipped
    out = tmp_path / "new" / "bench.json"  # missing parents are created, as by every command
    argv = ["bench", "--quick", "--population", "4", "--steps", "5", "--repeats", "2"]
    argv += ["--backends", "limit", "limit-zero", "serial", "process", "ray", "--json", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    header = "| task | backend | genome-env-steps/s (median) | min-max | share of physics limit |"
    assert header in text
    assert "population 4, MLP 64x64 tanh, 5-step episodes, 2 workers" in text
    records = json.loads(out.read_text())
    assert [(r["task"], r["backend"]) for r in records] == [
        (t, b) for t in TASKS for b in ("limit", "limit-zero", "serial", "process", "ray")
    ]
    for record in records:
        assert KEYS <= set(record)
        row = f"| {record['task']} | {record['backend']} |"
        assert row in text
        if record["backend"] == "ray":
            assert record["steps_per_s"] is None and record["ratio_to_limit"] is None
            assert "pip install pbml-control[ray]" in record["note"]
            continue
        assert record["steps_per_s"] > 0 and record["limit_steps_per_s"] > 0
        assert record["ratio_to_limit"] > 0
        if record["backend"] == "limit":
            assert record["ratio_to_limit"] == 1.0


def test_bench_skips_other_libraries_with_a_note_when_not_importable(tmp_path, capsys, monkeypatch):
    for name in ("envpool", "evotorch"):
        monkeypatch.setitem(sys.modules, name, None)  # `import name` raises ImportError
    out = tmp_path / "bench.json"
    argv = ["bench", "--quick", "--population", "2", "--steps", "3", "--repeats", "1"]
    argv += ["--tasks", TASKS[0], "--backends", "limit", "envpool", "evotorch"]
    assert main([*argv, "--json", str(out)]) == 0
    text = capsys.readouterr().out
    records = {r["backend"]: r for r in json.loads(out.read_text())}
    assert records["limit"]["steps_per_s"] > 0
    for name in ("envpool", "evotorch"):
        record = records[name]
        assert record["steps_per_s"] is None and record["ratio_to_limit"] is None
        assert record["note"].startswith(f"skipped: {name} is not installed")
        assert f"| {TASKS[0]} | {name} | - | - | - | {record['note']} |" in text


def test_an_installed_comparison_library_gets_a_measured_row(tmp_path, monkeypatch):
    """The path CI cannot take without EnvPool: a stand-in library is 'installed' and timed."""
    from pbml_control.bench import others

    calls = []
    monkeypatch.setattr(others, "skip_reason", lambda backend: "")
    monkeypatch.setattr(
        others,
        "make_runner",
        lambda backend, task, settings, closers: lambda: calls.append(1) or 1.0,
    )
    out = tmp_path / "bench.json"
    argv = ["bench", "--quick", "--population", "2", "--steps", "3", "--repeats", "2"]
    argv += ["--tasks", TASKS[0], "--backends", "limit", "envpool", "--json", str(out)]
    assert main(argv) == 0
    records = {r["backend"]: r for r in json.loads(out.read_text())}
    assert records["envpool"]["steps_per_s"] > 0 and len(calls) == 2
    assert records["envpool"]["note"] == "plain HalfCheetah-v5 (no goals)"


def test_plain_bodies_of_the_benchmark_tasks():
    from pbml_control.bench.others import plain_env_id

    assert [plain_env_id(t) for t in TASKS] == ["HalfCheetah-v5", "Ant-v5"]
    with pytest.raises(ValueError, match="no plain gymnasium body"):
        plain_env_id("pbml/HopperVel-v0")


def test_bench_rejects_an_unknown_backend(capsys):
    assert main(["bench", "--quick", "--backends", "threads", "--tasks", TASKS[0]]) == 2
    assert "unknown backend" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("options", "flag"),
    [
        (["--workers", "0"], "--workers"),
        (["--population", "0"], "--population"),
        (["--population", "64,0"], "--population"),
        (["--population", "64,many"], "--population"),
        (["--hidden", "64xbig"], "--hidden"),
        (["--hidden", "64,0x8"], "--hidden"),
        (["--steps", "0"], "--steps"),
        (["--repeats", "0"], "--repeats"),
        (["--chunk-size", "-1"], "--chunk-size"),
        (["--tasks", "pbml/NoSuchTask-v0"], "--tasks"),
        (["--tasks", "pbml/HopperVel-v0"], "--tasks"),  # no fast path: no physics limit
    ],
)
def test_bench_rejects_bad_options_in_one_line_naming_the_flag(options, flag, capsys):
    assert main(["bench", "--quick", "--backends", "limit", "serial", *options]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # rejected before anything is measured
    err = captured.err.strip()
    assert err.startswith("pbml bench: error: ") and "\n" not in err
    assert flag in err


def test_the_default_rows_never_start_ray():
    from pbml_control.cli import build_parser

    args = build_parser().parse_args(["bench", "--quick"])
    assert "ray" not in args.backends and "evotorch" not in args.backends
    assert {"limit", "serial", "process"} <= set(args.backends)


def test_a_quick_sweep_reports_every_point_with_memory_and_bytes_sent(tmp_path, capsys):
    out = tmp_path / "sweep.json"
    argv = ["bench", "--quick", "--population", "2,3", "--hidden", "4,64x64", "--steps", "5"]
    argv += ["--repeats", "1", "--tasks", TASKS[1], "--json", str(out)]
    argv += ["--backends", "limit", "process", "process-pickled"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    header = (
        "| task | population | network | backend | genome-env-steps/s (median) "
        "| share of physics limit | worker peak RSS (MiB) | sent per generation | note |"
    )
    assert header in text
    records = json.loads(out.read_text())
    points = [(r["population"], r["hidden"], r["backend"]) for r in records]
    backends = ("limit", "process", "process-pickled")
    assert points == [(p, h, b) for h in ([4], [64, 64]) for p in (2, 3) for b in backends]
    for r in records:
        net = "x".join(map(str, r["hidden"]))
        assert f"| {TASKS[1]} | {r['population']} | {net} | {r['backend']} |" in text
        assert r["steps_per_s"] > 0 and r["ratio_to_limit"] > 0
        if r["backend"] == "limit":
            assert r["worker_peak_rss_mib"] is None and r["bytes_per_generation"] is None
        else:
            assert r["worker_peak_rss_mib"] > 10 and r["bytes_per_generation"] > 0
    sent = {(r["population"], tuple(r["hidden"]), r["backend"]): r for r in records}
    for population in (2, 3):
        shared = sent[(population, (64, 64), "process")]["bytes_per_generation"]
        pickled = sent[(population, (64, 64), "process-pickled")]["bytes_per_generation"]
        assert shared * 3 < pickled  # the rows of 64x64 genomes are not in the chunks


def test_the_default_rows_never_measure_the_old_pickled_path():
    from pbml_control.cli import build_parser

    args = build_parser().parse_args(["bench"])
    assert "process-pickled" not in args.backends
    assert args.population is None and args.hidden is None  # 64 and 64x64, as before
