"""What ``greenroom ps`` prints: one aligned text row per worker, fitted to a width.

Pure: worker rows and a width in, text out. Without a terminal (``width`` ``None``) every
column is printed with its full values, like ``ps`` and ``docker ps``; every value but the
last column's (LAST CRASH, free text like ``ps``'s COMMAND) is one word, so a script can
split a row on whitespace. On a terminal the table is fitted to the width: the
low-value columns go first (``DROP_ORDER``: RSS before anything else), LAST CRASH is
shortened with ``…`` (never below ``CRASH_MIN_WIDTH``) before it goes too, and CHARACTER,
PID, NODE, STATE and DEBUG are never dropped or cut — a table they alone make too wide is printed
whole and the terminal wraps it.

NODE (only with ``--placement ray``) is the Ray node the character's actor runs on.
CODE is the worker's code generation and when that code was loaded (``g2@14:03:05``, local
time; the date instead when it was not today), marked ``*`` when the worker runs code or a
character file older than what is on disk; ``render_notes`` says why, under the table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import click

from protocol.admin import WorkerInfo


def format_bytes(size: int | None) -> str:
    """``48.2MiB`` (one word, as in ``docker stats``); ``-`` when unknown."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}GiB"


def format_uptime(seconds: float | None) -> str:
    """``4s``, ``3m12s``, ``2h05m``, ``3d04h``; ``-`` when not running."""
    if seconds is None:
        return "-"
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def format_code(worker: WorkerInfo, now: datetime | None = None) -> str:
    """``g2@14:03:05`` (``g2@2024-03-01`` when not loaded today), ``*`` appended when stale;
    ``-`` without a running process."""
    if worker.code_generation is None:
        return "-"
    text = f"g{worker.code_generation}"
    if worker.code_loaded_at is not None:
        loaded = datetime.fromisoformat(worker.code_loaded_at).astimezone()
        today = (now or datetime.now().astimezone()).date()
        text += "@" + (loaded.strftime("%H:%M:%S") if loaded.date() == today
                       else loaded.date().isoformat())
    return text + ("*" if worker.stale else "")


def render_notes(workers: Sequence[WorkerInfo], reload_error: str | None) -> str:
    """The lines under the table: why each ``*`` worker is stale, and the last failed
    reload's problem; empty when there is nothing to say."""
    lines = [f"* {w.character_id}: {w.stale}" for w in workers if w.stale]
    if reload_error:
        lines.append(f"reload failed: {reload_error} (fix it, then `greenroom reload`)")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    cell: Callable[[WorkerInfo], str]


COLUMNS = (
    Column("CHARACTER", lambda w: w.character_id),
    Column("PID", lambda w: str(w.pid or "-")),
    Column("NODE", lambda w: w.node or "-"),
    Column("STATE", lambda w: w.state),
    Column("UPTIME", lambda w: format_uptime(w.uptime_s)),
    Column("RESTARTS", lambda w: str(w.restarts)),
    Column("RSS", lambda w: format_bytes(w.rss_bytes)),
    Column("USS", lambda w: format_bytes(w.uss_bytes)),
    Column("CLIENTS", lambda w: str(w.sessions)),
    Column("CODE", format_code),
    Column("DEBUG", lambda w: f"127.0.0.1:{w.debug_port}" if w.debug_port else "-"),
    Column("LAST CRASH", lambda w: " ".join((w.last_crash or "-").split())),
)
CRASH = "LAST CRASH"
DROP_ORDER = ("RSS", "USS", "CLIENTS", "UPTIME", "RESTARTS", "CODE", CRASH)
"""Dropped in this order while the table is wider than the terminal."""
CRASH_MIN_WIDTH = 20
GAP = "  "
STATE_COLOURS: dict[str, tuple[str, bool]] = {
    "ready": ("green", False), "debugging": ("magenta", False), "failed": ("red", True),
    "restarting": ("yellow", False), "starting": ("yellow", False)}
"""Foreground and bold of each state on a colour terminal; other states are dim."""


def _span(widths: dict[str, int]) -> int:
    return sum(widths.values()) + len(GAP) * (len(widths) - 1)


def fit_columns(natural: dict[str, int], width: int | None) -> dict[str, int]:
    """The columns to print, in order, each with its width: all of them at ``natural``
    width when ``width`` is ``None``, else fitted as the module says."""
    if width is None:
        return dict(natural)
    kept = dict(natural)
    for name in DROP_ORDER:
        if name not in kept:
            continue
        floor = {**kept, CRASH: min(kept[CRASH], CRASH_MIN_WIDTH)} if CRASH in kept else kept
        if _span(floor) <= width:
            break
        del kept[name]
    if CRASH in kept:
        others = _span({name: w for name, w in kept.items() if name != CRASH})
        kept[CRASH] = min(kept[CRASH], width - others - len(GAP))
    return kept


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render_workers(workers: Sequence[WorkerInfo], width: int | None, *,
                   color: bool = False) -> str:
    """The table (header first, no trailing newline) for a terminal ``width`` columns wide,
    or for no terminal (``None``); ``color`` bolds the header and colours the states."""
    # NODE only where workers run on Ray nodes (``--placement ray``).
    columns = [c for c in COLUMNS if c.header != "NODE" or any(w.node for w in workers)]
    cells = [{c.header: c.cell(w) for c in columns} for w in workers]
    natural = {c.header: max([len(c.header), *(len(row[c.header]) for row in cells)])
               for c in columns}
    widths = fit_columns(natural, width)

    def line(row: dict[str, str], style: Callable[[str, str], str]) -> str:
        parts = []
        for name, w in widths.items():
            text = _shorten(row[name], w)
            parts.append(style(name, text) + " " * (w - len(text)))
        return GAP.join(parts).rstrip()

    def header_style(_name: str, text: str) -> str:
        return click.style(text, bold=True) if color else text

    def row_style(name: str, text: str) -> str:
        if not color or name != "STATE":
            return text
        fg, bold = STATE_COLOURS.get(text, (None, False))
        return click.style(text, fg=fg, bold=bold or None, dim=True if fg is None else None)

    header = line({c.header: c.header for c in columns}, header_style)
    return "\n".join([header, *(line(row, row_style) for row in cells)])
