"""What the model is asked after a turn, and what of its answer becomes memories: pure.

Mem0-style: the model answers with JSON lines, one object per line — ``{"fact": "..."}``
for a fact about the user (extraction), ``{"summary": "..."}`` for a reflection over their
recent turns. Parsing is strict and bounded: only the first ``MAX_ANSWER_CHARS`` of an
answer are read, a line that is not such an object (prose, code fences, other keys, other
types) is ignored, texts are stripped and kept only when 1..``MAX_FACT_CHARS`` (or
``MAX_SUMMARY_CHARS``) characters long, duplicates (case-folded) and facts already known are
dropped, and at most ``MAX_FACTS`` facts and one summary come out of one answer.

``plan_model_memory`` decides, from plain values, whether a committed turn gets an
extraction and a reflection.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from runtime.settings import ModelMemoryMode
from worker.backends.base import ChatMessage

MAX_ANSWER_CHARS: Final = 8_000
MAX_FACTS: Final = 5
MAX_FACT_CHARS: Final = 300
MAX_SUMMARY_CHARS: Final = 800
#: Known facts shown to the model so it does not repeat them (the newest ones).
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
    "write the lasting facts it tells about {user}: their life, family, health, work, "
    "places, plans, likes and dislikes, pets, fears, dated events. One JSON object per "
    'line: {{"fact": "<one sentence in the third person, naming {user}>"}}. Only facts '
    "{user} stated about themselves, at most {max_facts}, each under {max_chars} "
    "characters; skip small talk and anything already known. If there is nothing, answer "
    "nothing. No other text."
)

_REFLECT_SYSTEM: Final = (
    "You keep notes about the person a character talks with. Read their recent exchanges "
    "below and write one reflection: what matters to {user}, what they are going through, "
    'what to remember next time. Answer with exactly one line: {{"summary": "<at most '
    '{max_chars} characters, third person, naming {user}>"}}. No other text.'
)


def extraction_messages(*, user: str, user_message: str, reply: str,
                        known: Sequence[str]) -> list[ChatMessage]:
    """The prompt asking for facts about ``user`` in one exchange; ``known`` are the facts
    already stored (the newest ``MAX_KNOWN_FACTS`` are shown)."""
    system = _EXTRACT_SYSTEM.format(user=user, max_facts=MAX_FACTS, max_chars=MAX_FACT_CHARS)
    shown = "\n".join(f"- {fact}" for fact in known[-MAX_KNOWN_FACTS:]) or "- (none)"
    body = (f"Already known about {user}:\n{shown}\n\n"
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


def parse_facts(answer: str, *, known: Sequence[str] = ()) -> list[str]:
    """The facts of an extraction answer (see the module's rules), in the order given."""
    return _texts(answer, "fact", max_chars=MAX_FACT_CHARS, limit=MAX_FACTS, known=known)


def parse_summary(answer: str) -> str | None:
    """The reflection of an answer: its first valid ``summary`` line, or ``None``."""
    found = _texts(answer, "summary", max_chars=MAX_SUMMARY_CHARS, limit=1, known=())
    return found[0] if found else None


def _texts(answer: str, key: str, *, max_chars: int, limit: int,
           known: Sequence[str]) -> list[str]:
    seen = {text.strip().casefold() for text in known}
    found: list[str] = []
    for line in answer[:MAX_ANSWER_CHARS].splitlines():
        text = _value(line.strip().rstrip(","), key)
        if text is None or not 0 < len(text) <= max_chars or text.casefold() in seen:
            continue
        seen.add(text.casefold())
        found.append(text)
        if len(found) == limit:
            break
    return found


def _value(line: str, key: str) -> str | None:
    if not (line.startswith("{") and line.endswith("}")):
        return None
    try:
        decoded = json.loads(line)
    except ValueError:
        return None
    if not isinstance(decoded, dict) or set(decoded) != {key}:
        return None
    value = decoded[key]
    return " ".join(value.split()) if isinstance(value, str) else None
