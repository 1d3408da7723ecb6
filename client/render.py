"""Pure rendering: state in, rich renderables or plain text out.

The REPL picks rich renderables on a terminal and the ``*_plain`` texts otherwise (pipes,
scripts, tests), so every view has both. Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from client import gauges
from client.commands import SETTINGS, help_lines
from client.errors import GreenroomError
from client.interface import (
    CharacterEntry,
    CharacterEvent,
    ConnectionEvent,
    JsonObject,
    PromptView,
    TraceReport,
)
from client.layout import change_line, moved
from client.vitals_view import Level, Relationship, TurnChange, VitalsView
from protocol.events import TurnEvent, VitalsEvent, WorkerStateEvent
from protocol.generation import GenerationSettings
from protocol.memories import MemoryEntry

BAR_WIDTH: Final = 20
SPARK_TURNS: Final = 16
"""The turns ``/vitals`` draws each level's sparkline over (the newest)."""

_RISING_STYLE: Final = "green"
_FALLING_STYLE: Final = "red"


def bar(value: float, baseline: float | None, width: int = BAR_WIDTH, *, ascii_only: bool = False
        ) -> str:
    """A ``width``-cell bar for a 0–100 level (in eighths of a cell), the baseline's cell
    drawn as a marker."""
    return gauges.bar(value, baseline, width, ascii_only=ascii_only)


def arrow(change: float | None, *, ascii_only: bool = False) -> str:
    """``▲ +3.2`` / ``▼ -1.0`` / ``·`` (steady); empty when the change is unknown."""
    if change is None:
        return ""
    if not moved(change):
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
        count = relationship.interactions
        parts.append(f"{count} interaction{'' if count == 1 else 's'}")
    if len(parts) <= 1 and relationship.description:
        parts.append(relationship.description)
    return " ".join(parts) if parts else None


def vitals_panel(view: VitalsView, history: Mapping[str, Sequence[float]] | None = None
                 ) -> RenderableType:
    """Six bars (│ = baseline), values, change arrows and, with ``history``, a sparkline
    of each level over the last turns; mood, relationship(s) and goals below (the goals
    cut with ``…`` to the width)."""
    table = Table.grid(padding=(0, 1))
    for level in view.levels:
        row = [
            Text(f"{level.name:<10}"),
            Text(bar(level.value, level.baseline), style=_level_style(level)),
            Text(f"{level.value:5.1f}"),
            Text(_baseline_label(level), style="dim"),
            Text(arrow(level.change), style=_change_style(level.change)),
        ]
        if history is not None:
            row.append(Text(gauges.sparkline(history.get(level.name, ())), style="cyan"))
        table.add_row(*row)
    lines: list[RenderableType] = [table, Text(f"mood: {mood_text(view)}", style="bold")]
    lines += [Text(line) for line in _people_lines(view)]
    if view.goals:
        lines.append(Text("goals: " + "; ".join(view.goals), no_wrap=True, overflow="ellipsis"))
    title = f"{view.character} — vitals" if view.character else "vitals"
    if history is not None:
        title += f" (last {max((len(v) for v in history.values()), default=0)} turns)"
    return Panel(Group(*lines), title=title, expand=False)


def vitals_plain(view: VitalsView, history: Mapping[str, Sequence[float]] | None = None
                 ) -> str:
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
        if history is not None:
            parts.append(gauges.sparkline(history.get(level.name, ()), ascii_only=True))
        lines.append(" ".join(parts))
    lines.append(f"mood: {mood_text(view)}")
    lines += _people_lines(view)
    if view.goals:
        lines.append("goals: " + "; ".join(view.goals))
    return "\n".join(lines)


def _people_lines(view: VitalsView) -> list[str]:
    """The relationship with this chat's user, or (the dashboard) those of everyone
    talking, the most recent first."""
    relation = relationship_text(view.relationship)
    if relation:
        return [f"relationship: {relation}"]
    people = [text for r in view.relationships if (text := relationship_text(r))]
    if not people:
        return []
    return ["relationships (most recent first):", *(f"  {text}" for text in people)]


def turn_change_plain(change: TurnChange, *, own: bool) -> str:
    """The one line of what a turn changed, for a pipe: ASCII, every moved level in full."""
    return change_line(change, None, own=own, ascii_only=True)


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


def memory_entries_plain(memories: Sequence[MemoryEntry], *, empty: str = "(no memories)"
                         ) -> str:
    """One line per memory: its id, kind, importance, source (the turn that formed it, or
    ``remembered`` for one a person added), whom it is about, and its text."""
    if not memories:
        return empty
    return "\n".join(
        f"#{m.id}  {m.kind}  {m.importance:.2f}  "
        f"{'remembered' if m.remembered else f'turn {m.turn_id}'}  {m.user}: {m.text}"
        for m in memories
    )


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
    if change is None or not moved(change):
        return "dim"
    return _RISING_STYLE if change > 0 else _FALLING_STYLE


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


def trace_plain(report: TraceReport) -> str:
    """``/why``: one turn's trace on one screen (about 20 lines) — what the message was
    read as, how each vital moved and why, the mood, the memories, the prompt's history
    and the generation. Reads the engine's trace tolerantly: a part it lacks is skipped."""
    head = (f"why turn {report.turn_index} — {report.user}: "
            f"{_clip(report.user_message, 70)!r}")
    trace = report.trace
    if trace is None:
        return (f"{head}\n(no trace: this turn was committed by a greenroom from before "
                "traces were recorded)")
    lines = [head]
    lines += _appraisal_lines(_part(trace, "appraisal"))
    lines += _vitals_lines(_part(trace, "vitals"))
    lines += _mood_lines(_part(trace, "mood"))
    lines += _memory_lines(_part(trace, "memories"))
    lines += _lorebook_lines(_part(trace, "lorebook"))
    lines += _history_lines(_part(trace, "history"))
    lines += _generation_lines(_part(trace, "generation"))
    return "\n".join(lines)


def settings_plain(session: GenerationSettings, last: TraceReport | None) -> str:
    """``/show``: what this session set (sent with each message) and, when there is a
    turn, the options the newest one ran with."""
    lines = ["session settings (sent with each of your messages; /set NAME default clears one):"]
    for name in SETTINGS:
        value = getattr(session, name)
        lines.append(f"  {name:<12} {'—' if value is None else value}"
                     + ("" if value is None else "  (set)"))
    if last is None:
        lines.append("no turn yet: the character's own options apply")
        return "\n".join(lines)
    generation = _part(last.trace or {}, "generation")
    options = _part(generation, "options")
    if not options:
        lines.append(f"turn {last.turn_index} has no trace of its options")
        return "\n".join(lines)
    ran = [f"{key} {value}" for key, value in options.items()
           if value is not None and value != [] and key != "stop"]
    lines.append(f"turn {last.turn_index} ran on {generation.get('backend', '?')} with: "
                 + (", ".join(ran) or "the backend's defaults"))
    return "\n".join(lines)


def _part(whole: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = whole.get(key)
    return value if isinstance(value, Mapping) else {}


_AXES: Final = ("valence", "arousal", "warmth", "threat", "curiosity", "humour")
_WEIGHTS: Final = ("relevance", "vector", "recency", "importance")


def _items(value: Any) -> list[Any]:
    """A JSON array as a list (a tuple too, as values built in-process are); else empty."""
    return list(value) if isinstance(value, list | tuple) else []


def _number(value: Any, spec: str = ".2f", *, missing: str = "—") -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return missing
    text = format(value, spec)
    return format(0.0, spec) if float(text.rstrip("%")) == 0 else text  # never "-0.0"


def _in_order(mapping: Mapping[str, Any], order: Sequence[str]) -> list[tuple[str, Any]]:
    """``mapping``'s items, the keys of ``order`` first in that order, then the rest."""
    known = [(key, mapping[key]) for key in order if key in mapping]
    return known + [(key, value) for key, value in mapping.items() if key not in order]


def _appraisal_lines(appraisal: Mapping[str, Any]) -> list[str]:
    if not appraisal:
        return []
    cues = _part(appraisal, "cues")
    moved, still = [], []
    for axis, value in _in_order(_part(appraisal, "axes"), _AXES):
        if not value:
            still.append(axis)
            continue
        found = cues.get(axis)
        why = f" ({', '.join(map(str, _items(found)))})" if _items(found) else ""
        moved.append(f"  {axis:<10} {_number(value, '+.2f' if axis == 'valence' else '.2f')}"
                     f"{why}")
    long = " (a long message: its first and last words)" if appraisal.get("excerpt") else ""
    return [f"read as    {appraisal.get('intent', '?')} — {appraisal.get('intent_rule', '')}{long}",
            *moved, *([f"  at 0: {', '.join(still)}"] if still else []),
            *_trigger_lines(_items(appraisal.get("triggers")))]


def _trigger_lines(hits: Sequence[Any]) -> list[str]:
    """The mood triggers the message contained: ``"rain" → sad (pull 0.60)``."""
    found = []
    for hit in hits:
        if not isinstance(hit, Mapping):
            continue
        label, mood = hit.get("label"), hit.get("mood")
        if label is None:
            effect = (f"names {mood!r}, not a mood greenroom models" if mood
                      else "names no mood") + ": moved nothing"
        else:
            effect = (f"{label}" + (f" (as {mood!r})" if mood != label else "")
                      + f", pull {_number(hit.get('strength'), '.2f')}")
        found.append(f'"{hit.get("trigger")}" → {effect}')
    return [f"triggers   {'; '.join(found)}"] if found else []


def _vitals_lines(vitals: Mapping[str, Any]) -> list[str]:
    levels = _items(vitals.get("levels"))
    if not levels:
        return []
    elapsed = vitals.get("elapsed_s")
    lines = [f"vitals     {_duration(elapsed)} since the last turn (half-life "
             f"{_duration(vitals.get('half_life_s'))}), stimulus × sensitivity × "
             f"{_number(vitals.get('gain'))} volatility gain",
             f"  {'':<10} {'before':>6} {'decay':>6} {'moved':>6} {'after':>6}  by"]
    for level in levels:
        if not isinstance(level, Mapping):
            continue
        impulse = level.get("impulse")
        pushes = sorted(impulse.items(), key=lambda item: -abs(item[1])) if isinstance(
            impulse, Mapping) else []
        by = ", ".join(f"{axis} {value:+.1f}" for axis, value in pushes[:3]
                       if isinstance(value, int | float))
        total = sum(v for _, v in pushes if isinstance(v, int | float))
        moved = level.get("delta")
        if isinstance(moved, int | float) and abs(total - moved) > 0.05:
            by += " (clamped to 0–100)"
        name = str(level.get("name", "?"))
        lines.append(f"  {name:<10} {_number(level.get('committed'), '6.1f')}"
                     f" {_number(level.get('decay'), '+6.1f')} {_number(moved, '+6.1f')}"
                     f" {_number(level.get('after'), '6.1f')}  {by}")
    return lines


def _mood_lines(mood: Mapping[str, Any]) -> list[str]:
    after = _part(mood, "after")
    if not after:
        return []
    before, label, nearest = mood.get("before"), after.get("label"), after.get("nearest")
    nearest_at = _number(after.get("nearest_distance"), ".1f")
    if after.get("held"):
        why = (f"held by hysteresis: {nearest} was nearer ({nearest_at} vs "
               f"{_number(after.get('previous_distance'), '.1f')} points) but not by more than "
               f"{_number(after.get('hysteresis_points'), '.0f')}")
    elif label == before:
        why = f"still the nearest ({nearest_at} points)"
    else:
        why = f"now the nearest ({nearest_at} points)"
    return [f"mood       {before} → {label} ({_number(after.get('intensity'), '.0%')}): {why}"]


def _memory_lines(memories: Mapping[str, Any]) -> list[str]:
    if not memories:
        return []
    if not memories.get("searched"):
        return ["memories   not searched (a kept reply asks nothing of the LLM)"]
    candidates = [c for c in _items(memories.get("candidates")) if isinstance(c, Mapping)]
    words = _items(memories.get("query_words"))
    query = ", ".join(map(str, words)) if words else "no searchable word"
    expanded = memories.get("expanded_terms")
    weights = _part(memories, "weights")
    weighting = " + ".join(f"{_number(value)} {key}"
                           for key, value in _in_order(weights, _WEIGHTS)
                           if isinstance(value, int | float) and value)
    lines = [f"memories   {len(candidates)} found for {query}"
             + (f" (+{expanded} related)" if expanded else "")
             + (f"; score = {weighting}" if weighting else "")]
    for c in candidates:
        mark = "+" if c.get("used") else "-"
        matched = _items(c.get("matched"))
        parts = [f"rel {_number(c.get('relevance'))}"]
        if c.get("vector") is not None:
            parts.append(f"vec {_number(c.get('vector'))}")
        parts += [f"rec {_number(c.get('recency'))}", f"imp {_number(c.get('importance'))}"]
        found = f" [{', '.join(map(str, matched))}]" if matched else ""
        lines.append(f"  {mark} {_number(c.get('score'))} {_clip(str(c.get('text', '')), 48)!r} "
                     f"{' '.join(parts)}{found} — {c.get('reason', '')}")
    return lines


def _lorebook_lines(lorebook: Mapping[str, Any]) -> list[str]:
    fired = [f for f in _items(lorebook.get("fired")) if isinstance(f, Mapping)]
    if not fired:
        return ["lorebook   none"]
    included = sum(1 for f in fired if f.get("included"))
    lines = [f"lorebook   {included} of {len(fired)} fired entries in the prompt, "
             f"~{lorebook.get('used_tokens', 0)} of {lorebook.get('budget_tokens', 0)} tokens"]
    return lines + [f"  {lore_line(f)}" for f in fired]


def lore_line(entry: Mapping[str, Any]) -> str:
    """One lorebook entry that fired, in words: why, where it went, what became of it."""
    reason = entry.get("reason")
    if reason == "constant":
        why = "constant"
    elif reason == "decorator":
        why = "@@activate"
    else:
        why = f"key {entry.get('key')!r} in {entry.get('where')}"
        secondary = _items(entry.get("secondary"))
        if secondary:
            why += " with " + ", ".join(repr(k) for k in secondary)
    if entry.get("roll") is not None:
        why += f", rolled {_number(entry.get('roll'))} < {_number(entry.get('probability'))}%"
    depth = entry.get("depth")
    place = f"{entry.get('position')}" + (f" {depth}" if depth is not None else "")
    mark = "+" if entry.get("included") else "-"
    text = (f"{mark} {entry.get('entry')!r} ({entry.get('book')}) {why} → {place}, "
            f"order {entry.get('order')}, ~{entry.get('tokens')} tokens")
    return text if entry.get("included") else f"{text}: dropped, {entry.get('dropped')}"


def _history_lines(history: Mapping[str, Any]) -> list[str]:
    if not history:
        return []
    read, kept, dropped = history.get("read"), history.get("kept"), history.get("dropped")
    budget = history.get("budget_tokens")
    cut = f", {dropped} dropped for the budget" if dropped else ""
    return [f"history    kept {kept} of {read} exchanges{cut}; ~tokens: system "
            f"{history.get('system_tokens')} + history {history.get('history_tokens')} + "
            f"message {history.get('message_tokens')} (budget {budget})"]


def _generation_lines(generation: Mapping[str, Any]) -> list[str]:
    if not generation:
        return []
    if generation.get("kept_partial"):
        return [f"generation none: the cut-off reply of {generation.get('backend')} was kept "
                "as it was"]
    options = _part(generation, "options")
    session = _part(generation, "session")
    shown = []
    for key in ("temperature", "top_p", "max_tokens", "num_ctx"):
        value = options.get(key)
        if value is not None:
            shown.append(f"{key} {value}" + (" (set)" if key in session else ""))
    model = f"{generation.get('model')}" + (" (set)" if "model" in session else "")
    usage = (f"prompt {generation.get('prompt_tokens', '?')} + reply "
             f"{generation.get('completion_tokens', '?')} tokens "
             f"({generation.get('usage_source', '?')})")
    return [f"generation {generation.get('backend')} {model}"
            + (" · " + ", ".join(shown) if shown else ""),
            f"  {usage} · first token {_number(generation.get('time_to_first_token_ms'), '.0f')}"
            f" ms · {_number(generation.get('duration_ms'), '.0f')} ms in all · "
            f"{generation.get('finish_reason', '?')}"]


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return "?"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86_400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{seconds / 86_400:.1f} days"
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
    if view.lorebook:
        lines.append(f"lorebook (budget {view.lorebook_budget_tokens} tokens):")
        lines += [f"  {lore_line(entry)}" for entry in view.lorebook]
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
