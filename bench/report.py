"""Shared figures and tables for the benchmarks: every script prints the same shape.

A row compares a greenroom figure with a baseline measured in the same run on the same
machine, gives their ratio, and says whether the goal (if any) was met.
"""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation; samples need not be sorted."""
    if not samples:
        raise ValueError("percentile of no samples")
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[min(max(int(q), 1), 99) - 1]


@dataclass(frozen=True, slots=True)
class Row:
    """One comparison. ``unit`` applies to both figures; ``goal`` is free text."""

    metric: str
    greenroom: float
    baseline: float | None
    unit: str
    goal: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.greenroom / self.baseline


def machine_line() -> str:
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def render_table(title: str, rows: Sequence[Row]) -> str:
    """A Markdown table (readable in a terminal, pasteable into bench/README.md)."""
    header = ["metric", "greenroom", "baseline", "ratio", "unit", "goal", "met"]
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        met = "—" if row.met is None else ("yes" if row.met else "NO")
        ratio = "—" if row.ratio is None else f"{row.ratio:.2f}×"
        cells = [row.metric, _fmt(row.greenroom), _fmt(row.baseline), ratio, row.unit,
                 row.goal, met]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
