"""`pbml bench` over several population sizes and network widths: where the pool stops scaling.

Each (task, network, population) point is a whole benchmark of its own (`run_bench`): fresh
pools, so that a worker's peak memory is that point's, and the physics limit of the same
population measured in the same rounds, so that every row has its share of the limit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from pbml_control.bench.throughput import (
    Row,
    Settings,
    _load,
    memory_cell,
    ratio_cell,
    run_bench,
    sent_cell,
)
from pbml_control.errors import UserError


@dataclass
class Point:
    """One backend's row at one (task, population, network) point."""

    settings: Settings
    row: Row


def parse_counts(text: str, flag: str) -> tuple[int, ...]:
    """'64,256,1024' -> (64, 256, 1024); UserError naming `flag` for anything else."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        wanted = "whole numbers separated by commas"
        raise UserError(f"{flag}: expected {wanted}, got {text!r}") from None
    for value in values:
        if value < 1:
            raise UserError(f"{flag} must be >= 1, got {value}")
    return values


def parse_hidden(text: str) -> tuple[tuple[int, ...], ...]:
    """'64x64,256x256' -> ((64, 64), (256, 256)): hidden layer widths per network."""
    networks = []
    for network in text.split(","):
        try:
            widths = tuple(int(width) for width in network.split("x"))
        except ValueError:
            raise UserError(
                f"--hidden: expected layer widths like 64x64, separated by commas, got {text!r}"
            ) from None
        if any(width < 1 for width in widths):
            raise UserError(f"--hidden: layer widths must be >= 1, got {network!r}")
        networks.append(widths)
    return tuple(networks)


def describe_sweep(
    settings: Settings, populations: tuple[int, ...], networks: tuple[tuple[int, ...], ...]
) -> str:
    """What a sweep measured, and the load when it ended."""
    chunk = settings.chunk_size or "population / workers"
    return (
        f"population {', '.join(map(str, populations))}; MLP "
        f"{', '.join(network_name(h) for h in networks)} tanh; {settings.steps}-step episodes, "
        f"{settings.workers} workers, chunk {chunk}, {settings.repeats} interleaved rounds per "
        f"point; worker memory: peak RSS (VmHWM) of the largest worker; load average at the end "
        f"{_load()}"
    )


def network_name(hidden: tuple[int, ...]) -> str:
    return "x".join(map(str, hidden))


def run_sweep(
    base: Settings,
    populations: tuple[int, ...],
    networks: tuple[tuple[int, ...], ...],
    progress: Callable[[str], None] = print,
) -> list[Point]:
    """Every (task, network, population) point of `base`'s tasks and backends, in that order."""
    points = []
    for task in base.tasks:
        for hidden in networks:
            for population in populations:
                settings = replace(base, tasks=(task,), population=population, hidden=hidden)
                progress(f"{task}, population {population}, MLP {network_name(hidden)}")
                points.extend(Point(settings, row) for row in run_bench(settings, progress))
    return points


def sweep_table(points: list[Point]) -> str:
    """The points as a markdown table: throughput, share of the limit, memory, bytes sent."""
    lines = [
        "| task | population | network | backend | genome-env-steps/s (median) "
        "| share of physics limit | worker peak RSS (MiB) | sent per generation | note |",
        "|---|---:|---|---|---:|---:|---:|---:|---|",
    ]
    for point in points:
        row, settings = point.row, point.settings
        speed = f"{row.median:,.0f}" if row.samples else "-"
        cells = [
            row.task,
            str(settings.population),
            network_name(settings.hidden),
            row.backend,
            speed,
            ratio_cell(row),
            memory_cell(row),
            sent_cell(row),
            row.note,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
