"""Pure rendering: state in, rich renderables or plain text out.

The REPL picks rich renderables on a terminal and the ``*_plain`` texts otherwise (pipes,
scripts, tests), so every view has both. Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from client.commands import help_lines
from client.errors import GreenroomError
from client.interface import (
    CharacterEntry,
    CharacterEvent,
    ConnectionEvent,
    JsonObject,
    PromptView,
)
from client.vitals_view import Level, Relationship, VitalsView
from protocol.events import TurnEvent, VitalsEvent, WorkerStateEvent

BAR_WIDTH: Final = 20
STEADY_BELOW: Final = 0.5
"""Changes smaller than this many points show as steady (·)."""

_RISING_STYLE: Final = "green"
_FALLING_STYLE: Final = "red"


def bar(value: float, baseline: float | None, width: int = BAR_WIDTH, *, ascii_only: bool = False
        ) -> str:
    """A ``width``-cell bar for a 0–100 level with the baseline cell drawn as a marker."""
    full, empty, marker = ("#", "-", "|") if ascii_only else ("█", "░", "│")
    filled = round(max(0.0, min(100.0, value)) / 100 * width)
    cells = [full] * filled + [empty] * (width - filled)
    if baseline is not None:
        at = min(width - 1, round(max(0.0, min(100.0, baseline)) / 100 * width))
        cells[at] = marker
    return "".join(cells)


def arrow(change: float | None, *, ascii_only: bool = False) -> str:
    """``▲ +3.2`` / ``▼ -1.0`` / ``·`` (steady); empty when the change is unknown."""
    if change is None:
        return ""
    if abs(change) < STEADY_BELOW:
        return "=" if ascii_only else "·"
    up, down = ("^", "v") if ascii_only else ("▲", "▼")
    return f"{up if change > 0 else down} {change:+.1f}"


def mood_text(view: VitalsView) -> str:
    if view.mood is None:
        return "mood unknown"
    if view.mood_intensity is None:
        return view.mood
    return f"{view.mood} ({view.mood_intensity:.0%})"


def relationship_text(relationship: Relationship | None) -> str | None:
    if relationship is None:
        return None
    parts: list[str] = []
    if relationship.user:
        parts.append(f"with {relationship.user}:")
    if relationship.trust is not None:
        parts.append(f"trust {relationship.trust:.2f}")
    if relationship.affinity is not None:
        parts.append(f"affinity {relationship.affinity:+.2f}")
    if relationship.interactions is not None:
        parts.append(f"{relationship.interactions} interactions")
    if len(parts) <= 1 and relationship.description:
        parts.append(relationship.description)
    return " ".join(parts) if parts else None


def vitals_panel(view: VitalsView) -> RenderableType:
    """Six bars (│ = baseline), values, change arrows; mood, relationship and goals below."""
    table = Table.grid(padding=(0, 1))
    for level in view.levels:
        table.add_row(
            Text(f"{level.name:<10}"),
            Text(bar(level.value, level.baseline), style=_level_style(level)),
            Text(f"{level.value:5.1f}"),
            Text(_baseline_label(level), style="dim"),
            Text(arrow(level.change), style=_change_style(level.change)),
        )
    lines: list[RenderableType] = [table, Text(f"mood: {mood_text(view)}", style="bold")]
    relation = relationship_text(view.relationship)
    if relation:
        lines.append(Text(f"relationship: {relation}"))
    if view.goals:
        lines.append(Text("goals: " + "; ".join(view.goals)))
    title = f"{view.character} — vitals" if view.character else "vitals"
    return Panel(Group(*lines), title=title, expand=False)


def vitals_plain(view: VitalsView) -> str:
    """The panel as plain ASCII lines, one level per line (stable for scripts)."""
    lines = [f"[vitals{f' {view.character}' if view.character else ''}]"]
    for level in view.levels:
        parts = [
            f"{level.name:<10}",
            bar(level.value, level.baseline, ascii_only=True),
            f"{level.value:5.1f}",
        ]
        if level.baseline is not None:
            parts.append(_baseline_label(level))
        changed = arrow(level.change, ascii_only=True)
        if changed:
            parts.append(changed)
        lines.append(" ".join(parts))
    lines.append(f"mood: {mood_text(view)}")
    relation = relationship_text(view.relationship)
    if relation:
        lines.append(f"relationship: {relation}")
    if view.goals:
        lines.append("goals: " + "; ".join(view.goals))
    return "\n".join(lines)


def vitals_toolbar(view: VitalsView) -> str:
    """One line for the prompt's bottom toolbar: initials, values and arrows, then mood."""
    cells = [
        f"{level.name[:3]} {level.value:.0f}{_short_arrow(level.change)}" for level in view.levels
    ]
    return " | ".join([*cells, mood_text(view)])


def help_table() -> Table:
    table = Table(show_header=False, box=None, padding=(0, 2))
    for usage, summary in help_lines():
        table.add_row(Text(usage, style="bold"), Text(summary))
    table.add_row(Text("Ctrl+C"), Text("stop the reply being generated (not the chat)"))
    table.add_row(Text('"""'), Text("start/end a multi-line message"))
    return table


def help_plain() -> str:
    rows = [*help_lines(), ("Ctrl+C", "stop the reply being generated"),
            ('"""', "start/end a multi-line message")]
    return "\n".join(f"{usage:<26} {summary}" for usage, summary in rows)


def characters_plain(entries: Sequence[CharacterEntry], current: str | None = None) -> str:
    lines = []
    for number, entry in enumerate(entries, start=1):
        mark = "*" if entry.character_id == current else " "
        archetype = f" — {entry.archetype}" if entry.archetype else ""
        lines.append(
            f"{mark}{number:>2}. {entry.character_id:<16} {entry.name}{archetype} [{entry.state}]"
        )
    return "\n".join(lines) if lines else "(no characters configured)"


def memories_plain(memories: Sequence[JsonObject]) -> str:
    if not memories:
        return "(no matching memories)"
    lines = []
    for number, memory in enumerate(memories, start=1):
        text = memory.get("text", "")
        score = memory.get("score")
        scored = f" (score {score:.3f})" if isinstance(score, int | float) else ""
        lines.append(f"{number}. {text}{scored}")
    return "\n".join(lines)


def snapshots_plain(snapshots: Sequence[JsonObject]) -> str:
    if not snapshots:
        return "(no snapshots)"
    return "\n".join(
        f"- {s.get('filename', '?')}"
        + (f"  ({s['created_at']})" if s.get("created_at") else "")
        for s in snapshots
    )


def alternatives_plain(alternatives: Sequence[JsonObject]) -> str:
    """One line per kept reply of the last turn; ``*`` marks the current one."""
    if not alternatives:
        return "(no turn to choose a reply for)"
    lines = []
    for alt in alternatives:
        mark = "*" if alt.get("current") else " "
        text = " ".join(str(alt.get("response_text", "")).split())
        lines.append(f"{mark} {alt.get('index')}: {text[:100]}{'…' if len(text) > 100 else ''}")
    return "\n".join(lines)


def summary_plain(summary: JsonObject) -> str:
    """The ``character_summary`` fields worth a line each."""
    lines = []
    for key in ("name", "archetype", "description", "turn_count", "memory_count", "backend"):
        value = summary.get(key)
        if value is not None:
            lines.append(f"{key.replace('_', ' ')}: {value}")
    return "\n".join(lines)


def error_text(error: GreenroomError) -> str:
    return f"error [{error.code}]: {error.message}"


def event_notice(event: CharacterEvent, *, own_user: str | None = None) -> str | None:
    """A one-line notice for an event, or ``None`` when it needs no line of its own
    (vitals changes only redraw the panel)."""
    if isinstance(event, ConnectionEvent):
        return connection_notice(event)
    if isinstance(event, WorkerStateEvent):
        return worker_state_notice(event)
    if isinstance(event, TurnEvent):
        who = event.user if event.user != own_user else f"{event.user} (another session)"
        return f"{who} said to {event.character_id}: {_clip(event.user_message)}"
    if isinstance(event, VitalsEvent):
        return None
    return None


def connection_notice(event: ConnectionEvent) -> str | None:
    if event.phase == "connecting":
        return (
            None if event.attempt <= 1
            else f"connecting — attempt {event.attempt}/{event.max_attempts}"
        )
    if event.phase == "reconnecting":
        return f"server gone — reconnecting ({event.attempt}/{event.max_attempts})"
    if event.phase == "back":
        return "back — connection restored, character re-attached"
    if event.phase == "gone":
        code = f" [{event.code}]" if event.code else ""
        return f"server unreachable{code}; the next message will try again"
    if event.phase == "connected":
        return None
    return "connection closed"


def worker_state_notice(event: WorkerStateEvent) -> str | None:
    detail = f" ({event.detail})" if event.detail else ""
    match event.state:
        case "restarting":
            return f"character {event.character_id} restarting…{detail}"
        case "ready":
            return f"back — {event.character_id} is ready"
        case "failed":
            return (
                f"character {event.character_id} failed [character_unavailable]{detail}; "
                f"an operator can run `greenroom restart {event.character_id}`"
            )
        case "debugging":
            return f"character {event.character_id} is paused in a debugger"
        case "starting":
            return f"character {event.character_id} starting…"
        case "stopped":
            return f"character {event.character_id} stopped"
    return None


def describe_info(info: JsonObject) -> str:
    """A short line for ``character_info`` after attach/load/reset/undo."""
    name = info.get("name")
    turns = info.get("turn_count")
    parts = [str(name)] if name else []
    if isinstance(turns, int):
        parts.append(f"{turns} turns")
    return ", ".join(parts)


def _baseline_label(level: Level) -> str:
    return "" if level.baseline is None else f"(base {level.baseline:.0f})"


def _level_style(level: Level) -> str:
    if level.baseline is None:
        return "cyan"
    return "yellow" if abs(level.value - level.baseline) >= 15 else "cyan"


def _change_style(change: float | None) -> str:
    if change is None or abs(change) < STEADY_BELOW:
        return "dim"
    return _RISING_STYLE if change > 0 else _FALLING_STYLE


def _short_arrow(change: float | None) -> str:
    if change is None or abs(change) < STEADY_BELOW:
        return ""
    return "↑" if change > 0 else "↓"


def _clip(text: str, limit: int = 80) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"



PHASE_LABELS: Final[dict[str, str]] = {
    "queued": "waiting for the character's previous reply",
    "reading_prompt": "reading the prompt",
}


def waiting_text(phase: str, elapsed_s: float) -> str:
    """The spinner's line while a reply has no token yet: ``reading the prompt… 12s``."""
    return f"{PHASE_LABELS.get(phase, phase)}… {elapsed_s:.0f}s"


def partial_notice(regenerate: bool) -> str:
    """What to tell the user about a reply the server cut off."""
    again = "/regen again" if regenerate else "send the message again"
    return (f"the reply above was cut off by the server and is not saved: /keep saves it as it"
            f" is (marked incomplete), or {again} for a new one")


_SHOWN_OPTIONS: Final = ("temperature", "top_p", "num_ctx", "max_tokens", "stop", "keep_alive")


def prompt_plain(view: PromptView) -> str:
    """A prompt as text: what it was sent for and with, its budget, the tokens of each
    section (trimmed ones marked), any warning, then every message in full."""
    if not view.kept:
        return f"(no prompt: {view.note})" if view.note else "(no prompt)"
    lines = [_prompt_heading(view), f"budget: {_budget_text(view)}", "sections (estimated tokens):"]
    for section in view.sections:
        lines.append(f"  {section.get('name', '?'):<18} {section.get('tokens', 0):>6}"
                     + _section_note(section))
    for warning in view.warnings:
        lines.append(f"warning [{warning.get('code')}]: {warning.get('message')}")
    for index, message in enumerate(view.messages):
        lines.append(f"--- {index} {message.get('role', '?')} ---")
        lines.append(str(message.get("content", "")))
    return "\n".join(lines)


def _prompt_heading(view: PromptView) -> str:
    settings = ", ".join(
        f"{name} {', '.join(value) if isinstance(value, list) else value}"
        for name in _SHOWN_OPTIONS
        if (value := view.options.get(name)) not in (None, [], ""))
    sent = (f"{view.backend}, model {view.model}"
            + (f" ({settings})" if settings else ""))
    if view.dry_run:
        return f"dry run for {view.user}: the prompt this message would send to {sent}" \
               " (nothing was sent)"
    return f"prompt of turn {view.turn_id} for {view.user}, as sent to {sent}"


def _budget_text(view: PromptView) -> str:
    b = view.budget
    text = (f"{b.get('budget_tokens')} tokens = context {b.get('context_tokens')}"
            f" ({b.get('context_source')}) − {b.get('reply_reserve_tokens')} for the reply")
    cap = b.get("prompt_token_cap")
    if cap is not None:
        text += f", at most {cap} (GREENROOM_PROMPT_TOKEN_BUDGET)"
    ratio, turns = b.get("token_ratio"), b.get("calibration_turns")
    calibration = (f"×{ratio:.2f}, calibrated over {turns} turn(s)"
                   if turns and isinstance(ratio, int | float) else "not calibrated yet")
    text += f"; estimated {b.get('estimated_tokens')} ({calibration})"
    counted = (view.usage or {}).get("prompt_tokens")
    if counted is not None:
        text += f"; the server counted {counted}"
    return text


def _section_note(section: JsonObject) -> str:
    if section.get("trimmed"):
        return "  TRIMMED to fit the budget"
    kept, available = section.get("exchanges_kept"), section.get("exchanges_available")
    if kept is not None and available is not None:
        return f"  kept {kept} of {available} exchanges"
    return ""
