"""One-line views laid out for a width: the prompt's toolbar and the line of what a turn
changed. Pure: values and a width in, a string of at most that many cells out.

Each view is tried from its fullest form to its most compact one, and the first that fits
is used; what is never given up is named per view (the toolbar's mood, the change line's
mood). Text cut to fit ends with ``…``, so a reader knows there is more.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from rich.cells import cell_len, set_cell_size

from client.vitals_view import Level, TurnChange, VitalsView

STEADY_BELOW: Final = 0.5
"""Changes smaller than this many points count as steady: not shown as moved."""
ELLIPSIS: Final = "…"
MIN_GOALS_CELLS: Final = 16
"""Goals are added to the toolbar only when at least this many cells are left for them."""
_SEPARATOR: Final = " │ "


def fit(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, ending in ``…`` when it had to be cut."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, width - 1).rstrip() + ELLIPSIS


def mood_label(mood: str | None, intensity: float | None) -> str:
    """``happy 42%``; ``mood unknown`` without a label."""
    if mood is None:
        return "mood unknown"
    return mood if intensity is None else f"{mood} {intensity:.0%}"


def moved(change: float | None) -> bool:
    return change is not None and abs(change) >= STEADY_BELOW


def _short_arrow(change: float | None, *, ascii_only: bool = False) -> str:
    if not moved(change):
        return ""
    assert change is not None
    if ascii_only:
        return "^" if change > 0 else "v"
    return "↑" if change > 0 else "↓"


def toolbar(view: VitalsView | None, where: str, width: int) -> str:
    """The bottom toolbar: the mood first, then the six levels (initials, values, arrows
    for what the last turn moved), then ``where`` (character · mode), then the goals —
    compacted to ``width``: the goals and ``where`` go first, then the levels shrink to
    one-letter names; the mood stays."""
    if view is None:
        return fit(f" {where}", width)
    mood = f" {mood_label(view.mood, view.mood_intensity)}"
    wide = " ".join(f"{lv.name[:3]} {lv.value:.0f}{_short_arrow(lv.change)}"
                    for lv in view.levels)
    narrow = " ".join(f"{lv.name[:1]}{lv.value:.0f}{_short_arrow(lv.change)}"
                      for lv in view.levels)
    candidates = [
        [mood, wide, where], [mood, wide], [mood, narrow, where], [mood, narrow],
    ]
    for parts in candidates:
        line = _SEPARATOR.join(p for p in parts if p)
        if cell_len(line) <= width:
            return _with_goals(line, view.goals, width)
    return fit(_SEPARATOR.join(p for p in (mood, narrow) if p), width)


def _with_goals(line: str, goals: Sequence[str], width: int) -> str:
    room = width - cell_len(line) - cell_len(_SEPARATOR)
    if not goals or room < MIN_GOALS_CELLS:
        return line
    return line + _SEPARATOR + fit("goals: " + "; ".join(goals), room)


def change_line(change: TurnChange, width: int | None, *, own: bool = True,
                ascii_only: bool = False) -> str:
    """What one turn changed, on one line: the mood (``calm → content 31%`` when it
    changed), then only the levels that moved, with arrows. Another person's turn is
    headed by their name. Compacted to ``width`` (``None``: no limit, the fullest form):
    names shorten to three letters, values go, the separators shrink, then the levels that
    do not fit are counted (``+2 more``); the mood is kept."""
    arrow_to = "->" if ascii_only else "→"
    lead = "" if own or not change.user else f"{change.user}'s turn: "
    head = f"{'->' if ascii_only else '↳'} {lead}"
    if change.previous_mood is not None and change.previous_mood != change.mood:
        mood = (f"mood {change.previous_mood} {arrow_to} "
                f"{mood_label(change.mood, change.mood_intensity)}")
    else:
        mood = f"mood {mood_label(change.mood, change.mood_intensity)}"
    levels = [lv for lv in change.levels if moved(lv.change)]
    separator = " | " if ascii_only else " · "
    if not levels:
        return fit(head + mood + separator + "no level moved", width or 10**6)
    forms = [
        (separator, [f"{lv.name} {lv.value:.1f} {_delta(lv, ascii_only)}" for lv in levels]),
        (separator, [f"{lv.name[:3]} {lv.value:.0f} {_delta(lv, ascii_only)}" for lv in levels]),
        (separator, [f"{lv.name[:3]} {_delta(lv, ascii_only)}" for lv in levels]),
        (" ", [f"{lv.name[:3]}{_delta(lv, ascii_only)}" for lv in levels]),
    ]
    if width is None:
        return head + separator.join([mood, *forms[0][1]])
    for between, cells in forms:
        line = head + mood + separator + between.join(cells)
        if cell_len(line) <= width:
            return line
    between, cells = forms[-1]
    for kept in range(len(cells) - 1, -1, -1):
        line = head + mood + separator + between.join([*cells[:kept], f"+{len(cells) - kept} more"])
        if cell_len(line) <= width:
            return line
    for shortest in (head + mood, f"{head[:2]}{mood}"):
        if cell_len(shortest) <= width:
            return shortest
    return fit(mood_label(change.mood, change.mood_intensity), width)


def _delta(level: Level, ascii_only: bool) -> str:
    assert level.change is not None
    return f"{_short_arrow(level.change, ascii_only=ascii_only)}{abs(level.change):.1f}"
