"""Bars and sparklines for 0–100 levels, as plain strings. Pure.

A bar cell holds eight steps (``▏▎▍▌▋▊▉█``), so a 20-cell bar shows 0.625 points: a level
moving from 64 to 69.4 visibly grows by more than a cell. The ASCII forms (``#``/``-``,
``.:-=+*#``) are for pipes and scripts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

EIGHTHS: Final = " ▏▎▍▌▋▊▉█"
"""A cell filled by 0/8 … 8/8."""
SPARKS: Final = "▁▂▃▄▅▆▇█"
ASCII_SPARKS: Final = ".:-=+*#"
SPARK_MIN_SPAN: Final = 4.0
"""A series that moves less than this many points is drawn within this span, so a level
that barely changed looks flat rather than like a cliff."""


def _clamp(value: float) -> float:
    return max(0.0, min(100.0, value))


def bar(value: float, baseline: float | None, width: int, *, ascii_only: bool = False) -> str:
    """A ``width``-cell bar for a 0–100 level, in eighths of a cell (whole cells in ASCII),
    with the baseline's cell drawn as a marker (``│``, ``|``)."""
    if ascii_only:
        filled = round(_clamp(value) / 100 * width)
        cells = ["#"] * filled + ["-"] * (width - filled)
    else:
        eighths = round(_clamp(value) / 100 * width * 8)
        whole, part = divmod(eighths, 8)
        cells = ["█"] * whole
        if whole < width:
            cells.append(EIGHTHS[part] if part else "░")
        cells += ["░"] * (width - len(cells))
    if baseline is not None:
        at = min(width - 1, round(_clamp(baseline) / 100 * width))
        cells[at] = "|" if ascii_only else "│"
    return "".join(cells)


def sparkline(values: Sequence[float], *, ascii_only: bool = False) -> str:
    """One character per value, the lowest of the series at the bottom step and the highest
    at the top (within at least ``SPARK_MIN_SPAN`` points); empty for no values."""
    if not values:
        return ""
    steps = ASCII_SPARKS if ascii_only else SPARKS
    low, high = min(values), max(values)
    span = max(high - low, SPARK_MIN_SPAN)
    bottom = (low + high) / 2 - span / 2
    top_step = len(steps) - 1
    return "".join(steps[min(top_step, max(0, round((v - bottom) / span * top_step)))]
                   for v in values)
