"""What the model is asked after a turn, and what of its answer becomes memories: pure.

Mem0-style: the model sees the facts it wrote about the user before (with their ids) and
answers with JSON lines, one operation per line — ``{"fact": "..."}`` adds a fact,
``{"update": ID, "fact": "..."}`` replaces fact ID's text, ``{"delete": ID}`` forgets fact
ID — or, for a reflection over their recent turns, ``{"summary": "..."}``. Parsing is strict
and bounded: only the first ``MAX_ANSWER_CHARS`` of an answer are read; a line that is not
exactly such an object (prose, code fences, other keys, other types, a boolean for an id)
is ignored; texts are stripped and kept only when 1..``MAX_FACT_CHARS`` (or
``MAX_SUMMARY_CHARS``) characters long; an update or delete must name a fact that was shown,
and each fact is changed at most once (the first line for it wins); added duplicates
(case-folded) and facts already known are dropped, as is an update to the same text; at
most ``MAX_FACTS`` additions, ``MAX_FACTS`` changes and one summary come out of one answer.

``plan_model_memory`` decides, from plain values, whether a committed turn gets an
extraction and a reflection.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeGuard

from runtime.settings import ModelMemoryMode
from worker.backends.base import ChatMessage

MAX_ANSWER_CHARS: Final = 8_000
MAX_FACTS: Final = 5
MAX_FACT_CHARS: Final = 300
MAX_SUMMARY_CHARS: Final = 800
#: Known facts shown to the model, by id, to update or delete or not repeat (the newest).
MAX_KNOWN_FACTS: Final = 20
#: Characters of a message or reply put in an extraction prompt (the rest is cut).
MAX_QUOTED_CHARS: Final = 2_000

@dataclass(frozen=True, slots=True)
class ModelMemoryPlan:
    """What to ask the model after a turn: facts from it, and a reflection."""

    extract: bool
    reflect: bool


def plan_model_memory(mode: ModelMemoryMode, *, backend: str, users_turns: int,
                      reflect_every: int) -> ModelMemoryPlan:
    """``mode`` ``auto`` asks a real LLM and never the offline ``scripted`` backend (it
    cannot extract anything); ``on``/``off`` as said. A reflection is due when the user's
    ``users_turns`` (counting the one just committed) is a positive multiple of
    ``reflect_every`` (0: never)."""
    enabled = mode == "on" or (mode == "auto" and backend != "scripted")
    reflect = enabled and reflect_every > 0 and users_turns > 0 \
        and users_turns % reflect_every == 0
    return ModelMemoryPlan(extract=enabled, reflect=reflect)


_EXTRACT_SYSTEM: Final = (
    "You keep notes about the person a character talks with. From the exchange below, "
    "note the lasting facts it tells about {user}: their life, family, health, work, "
    "places, plans, likes and dislikes, pets, fears, dated events. Answer with one JSON "
    "object per line, each one operation on your notes:\n"
    '{{"fact": "<one sentence in the third person, naming {user}>"}} adds a new fact;\n'
    '{{"update": <id>, "fact": "<the corrected sentence>"}} replaces a known fact that '
    "the exchange changes;\n"
    '{{"delete": <id>}} forgets a known fact that is no longer true.\n'
    "Only what {user} stated about themselves, at most {max_facts} new facts, each under "
    "{max_chars} characters; skip small talk and facts already known. If nothing changes, "
    "answer nothing. No other text."
)

_REFLECT_SYSTEM: Final = (
    "You keep notes about the person a character talks with. Read their recent exchanges "
    "below and write one reflection: what matters to {user}, what they are going through, "
    'what to remember next time. Answer with exactly one line: {{"summary": "<at most '
    '{max_chars} characters, third person, naming {user}>"}}. No other text.'
)


def extraction_messages(*, user: str, user_message: str, reply: str,
                        known: Mapping[int, str]) -> list[ChatMessage]:
    """The prompt asking for changes to the notes about ``user`` after one exchange;
    ``known`` are the facts the model wrote before, by id (the newest ``MAX_KNOWN_FACTS``
    are shown)."""
    system = _EXTRACT_SYSTEM.format(user=user, max_facts=MAX_FACTS, max_chars=MAX_FACT_CHARS)
    shown = "\n".join(f"[{memory_id}] {fact}"
                      for memory_id, fact in list(known.items())[-MAX_KNOWN_FACTS:])
    body = (f"Known facts about {user}, by id:\n{shown or '(none)'}\n\n"
            f"{user} said: {user_message[:MAX_QUOTED_CHARS]}\n"
            f"The character answered: {reply[:MAX_QUOTED_CHARS]}")
    return [ChatMessage("system", system), ChatMessage("user", body)]


def reflection_messages(*, user: str, exchanges: Sequence[tuple[str, str]]
                        ) -> list[ChatMessage]:
    """The prompt asking for one reflection over ``exchanges`` (message, reply), oldest
    first; each side is cut to a fifth of ``MAX_QUOTED_CHARS``."""
    system = _REFLECT_SYSTEM.format(user=user, max_chars=MAX_SUMMARY_CHARS)
    cut = MAX_QUOTED_CHARS // 5
    body = "\n".join(f"{user}: {message[:cut]}\nCharacter: {reply[:cut]}"
                     for message, reply in exchanges)
    return [ChatMessage("system", system), ChatMessage("user", body)]


@dataclass(frozen=True, slots=True)
class FactChanges:
    """What one extraction answer does to the notes: facts to add, ``(id, new text)`` to
    update, ids to delete — in the order given."""

    added: tuple[str, ...] = ()
    updated: tuple[tuple[int, str], ...] = ()
    deleted: tuple[int, ...] = ()


def parse_fact_changes(answer: str, *, known: Mapping[int, str]) -> FactChanges:
    """The operations of an extraction answer (see the module's rules); ``known`` are the
    facts shown to the model, by id."""
    seen = {text.strip().casefold() for text in known.values()}
    added: list[str] = []
    updated: list[tuple[int, str]] = []
    deleted: list[int] = []
    changed: set[int] = set()
    for line in _object_lines(answer):
        keys = set(line)
        fact = _text(line.get("fact"), MAX_FACT_CHARS)
        if keys == {"fact"} and fact is not None and len(added) < MAX_FACTS:
            if fact.casefold() not in seen:
                seen.add(fact.casefold())
                added.append(fact)
            continue
        if len(changed) == MAX_FACTS:
            continue
        target = line.get("update") if keys == {"update", "fact"} else (
            line.get("delete") if keys == {"delete"} else None)
        if not _is_id(target) or target not in known or target in changed:
            continue
        if "fact" in keys:
            if fact is None or fact.casefold() == known[target].strip().casefold():
                continue
            updated.append((target, fact))
        else:
            deleted.append(target)
        changed.add(target)
    return FactChanges(tuple(added), tuple(updated), tuple(deleted))


def parse_summary(answer: str) -> str | None:
    """The reflection of an answer: its first valid ``summary`` line, or ``None``."""
    for line in _object_lines(answer):
        summary = _text(line.get("summary"), MAX_SUMMARY_CHARS)
        if set(line) == {"summary"} and summary is not None:
            return summary
    return None


def _object_lines(answer: str) -> list[dict[str, object]]:
    """The lines of ``answer`` (its first ``MAX_ANSWER_CHARS``) that are one JSON object
    each (a trailing comma forgiven)."""
    found: list[dict[str, object]] = []
    for line in answer[:MAX_ANSWER_CHARS].splitlines():
        line = line.strip().rstrip(",")
        if not (line.startswith("{") and line.endswith("}")):
            continue
        try:
            decoded = json.loads(line)
        except ValueError:
            continue
        if isinstance(decoded, dict):
            found.append(decoded)
    return found


def _text(value: object, max_chars: int) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text if 0 < len(text) <= max_chars else None


def _is_id(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
