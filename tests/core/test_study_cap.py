"""`pbml study --max-core-hours`: a compute cap stops new runs, in study order, and the report
and `--status` say what it left out."""

from __future__ import annotations

import json

import pytest

from pbml_control.cli import main
from pbml_control.study import load_study, runner
from pbml_control.study.jobs import RESULT, run_dir_of
from pbml_control.study.report import status_text, write_report
from pbml_control.study.status import seed_ranges, spent_core_seconds, study_status
from tests.core.test_study import write
from tests.core.test_study_probes import MOVING

NOT_DONE = "not done: evolved seeds 6-7; frozen seeds 5-7; truncation seeds 5-6"


def test_seed_ranges_join_consecutive_seeds():
    assert seed_ranges([102, 100, 101, 105, 107, 108]) == "100-102, 105, 107-108"
    assert seed_ranges([7]) == "7" and seed_ranges([]) == ""


def test_a_cap_stops_new_runs_in_study_order_and_the_report_says_so(tmp_path):
    study = load_study(write(tmp_path, MOVING))
    out = tmp_path / "out"
    lines: list[str] = []
    capped = runner.run_study(study, out, workers=1, echo=lines.append, max_core_hours=1e-9)
    assert list(capped) == [("evolved", 5)]  # the first run in study order, then the cap
    assert "(compute cap 1e-09 core-hours)" in lines[0]
    assert lines[-1].startswith("compute cap reached: ") and "no further run starts" in lines[-1]
    assert spent_core_seconds(study, out) == pytest.approx(
        capped["evolved", 5]["train_s"] + capped["evolved", 5]["probe_s"]
    )
    report = write_report(study, out, capped, "pbml study test", "0 s", max_core_hours=1e-9)
    text = report.read_text()
    assert f"INCOMPLETE: 1/8 runs; {NOT_DONE}" in text
    assert "stopped by its compute cap of 1e-09 core-hours" in text
    forecast = study_status(study, out, max_core_hours=1e-9)
    assert "expected to leave out 7 runs: evolved seeds 6-7; frozen seeds 5-7;" in forecast
    assert "truncation seeds 5-6" in forecast
    # A larger cap (or none) goes on from where the cap stopped, with the same first run.
    first = json.loads((run_dir_of(out, "evolved", 5) / RESULT).read_text())
    whole = runner.run_study(study, out, workers=1, echo=lambda line: None)
    assert len(whole) == 8 and whole["evolved", 5] == first
    assert status_text(study, out, whole, max_core_hours=100.0).startswith(
        "complete (compute cap 100 core-hours; "
    )
    assert "every run fits" in study_status(study, out, max_core_hours=100.0)


def test_a_cap_on_worker_processes_starts_no_more_runs_than_workers(tmp_path):
    study = load_study(write(tmp_path, MOVING))
    out = tmp_path / "out"
    lines: list[str] = []
    capped = runner.run_study(study, out, workers=2, echo=lines.append, max_core_hours=1e-9)
    assert set(capped) <= {("evolved", 5), ("frozen", 5)} and capped
    assert any(line.startswith("compute cap reached") for line in lines)
    assert not any((run_dir_of(out, "evolved", 6)).glob("*"))  # never started


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_a_cap_that_is_not_a_positive_number_is_refused(tmp_path, capsys, value):
    path = write(tmp_path, MOVING)
    for extra in ([], ["--status"], ["--report-only"]):
        args = ["study", str(path), "--out", str(tmp_path / "out"), "--max-core-hours", value]
        assert main([*args, *extra]) == 2
        assert "--max-core-hours must be a positive number" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # refused before anything is written


def test_the_cli_cap_reaches_the_report_and_its_command(tmp_path, capsys):
    path = write(tmp_path, MOVING)
    out = tmp_path / "out"
    assert main(["study", str(path), "--out", str(out), "--workers", "1",
                 "--max-core-hours", "1e-9"]) == 0  # fmt: skip
    text = (out / "report.md").read_text()
    assert "--max-core-hours 1e-09`" in text and NOT_DONE in text
    assert "wrote " in capsys.readouterr().out
    status = ["study", str(path), "--out", str(out), "--status", "--max-core-hours", "1e-9"]
    assert main(status) == 0
    assert "expected to leave out 7 runs" in capsys.readouterr().out


def test_status_warns_of_hypotheses_with_too_few_pairs_for_holm(tmp_path):
    from pbml_control.study.pairing import pair_warnings

    six = MOVING.replace("seeds = [5, 6, 7]", "seeds = [5, 6, 7, 8, 9, 10]")
    study = load_study(write(tmp_path, six))
    # Six pairs pass a family of two's first step (1/64 < 0.05/2); two never pass 0.05.
    assert pair_warnings(study, set()) == [
        "warning: S-truncation (secondary, Holm over 2) has 2 pairs: the smallest one-sided "
        "Wilcoxon p at 2 pairs is 1/4 = 0.2500, not below 0.05/2; it cannot be supported "
        "whatever the data"
    ]
    # A cap that leaves out one frozen run: 5 pairs (1/32) need the other primary one first.
    (line,) = [w for w in pair_warnings(study, {("frozen", 10)}) if "H1 " in w]
    assert "H1 (primary, Holm over 2) has 5 pairs after the cap" in line
    assert line.endswith("only after 1 other primary hypotheses are")
    # --status says it from the design alone, before any run: no outcome is needed.
    small = load_study(write(tmp_path, MOVING, "small.toml"))
    text = study_status(small, tmp_path / "none")
    assert "warning: H1 (primary, Holm over 2) has 3 pairs" in text
