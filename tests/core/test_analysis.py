"""Recovery after goal changes, computed from hand-made metrics rows."""

from __future__ import annotations

import math

import pytest

from pbml_control.analysis.recovery import early_late, recovery_table


def rows_from(curves: list[list[float]]) -> list[dict]:
    return [
        {"goal/segment": str(s), "pop/fitness_max": str(v)}
        for s, curve in enumerate(curves)
        for v in curve
    ]


def test_recovery_of_each_goal_period():
    curves = [[0, 0, 0, 0], [-10, -6, -2, 0], [-8, -8, -8, -8], [-4, 0, 0, 0]]
    table = recovery_table(rows_from(curves), horizon=1)
    assert [r["segment"] for r in table] == [1, 2, 3]  # the first period has no change
    first, flat, fast = table
    assert (first["start"], first["best"], first["gain"]) == (-10, 0, 4)
    assert first["closed"] == pytest.approx(0.4)
    assert first["gens_to_90"] == 3  # -10 + 0.9 * 10 = -1 is first reached at the 4th point
    assert math.isnan(flat["closed"]) and flat["gens_to_90"] == 0
    assert fast["closed"] == 1.0 and fast["gens_to_90"] == 1


def test_early_and_late_thirds_and_incomplete_last_period():
    curves = [[0, 0]] + [[-10, -9]] * 3 + [[-10, -1]] * 3 + [[-10]]  # the last one is cut short
    summary = early_late(recovery_table(rows_from(curves), horizon=1))
    assert summary["early"]["segments"] == "1-2" and summary["late"]["segments"] == "5-6"
    assert summary["early"]["gain"] == 1 and summary["late"]["gain"] == 9
    assert early_late(recovery_table(rows_from([[0, 1], [0, 1]]), horizon=1)) is None


def test_per_period_summary_lines_up_for_two_dimensional_goals(capsys):
    from pbml_control.analysis.report import print_segments

    rows = [
        {"goal/segment": str(s), "goal/value": goal, "pop/fitness_max": str(v)}
        for s, goal in enumerate(["2.12345 -0.654321", "-1.5 2.75", "0.1 0.2"])
        for v in (-3.0, -1.0)
    ]
    print_segments(rows)
    lines = capsys.readouterr().out.splitlines()[1:]
    assert len({len(line) for line in lines}) == 1, lines  # one width: the columns line up
    assert "(2.12, -0.65)" in lines[1] and "(-1.50, 2.75)" in lines[2]
