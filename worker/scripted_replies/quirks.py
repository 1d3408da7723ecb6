"""A quirk of the character's card shown in the scene, not told about."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from schemas.model import Character
from worker.scripted_replies.choice import pick
from worker.scripted_replies.phrases import capitalised
from worker.scripted_replies.tone import POSITIVE_MOODS

# A quoted phrase in a quirk is something the character says. Single quotes may hold
# apostrophes between letters ('I don't know yet') but not start or end at one (relative's).
_QUOTE_RE: Final = re.compile(
    r"[\"“](?P<double>[^\"”]{4,})[\"”]"
    r"|(?<![A-Za-z])['‘](?P<single>(?:[^'’]|(?<=[A-Za-z])['’](?=[A-Za-z])){4,}?)['’](?![A-Za-z])")
# A stage direction keeps the action and drops its condition ("… whenever he feels awkward").
# "as if" is a manner, not a condition: "mentions the tide as if they were old friends" stays.
_CONDITION_RE: Final = re.compile(
    r"(?:[,;]|\s+(?:whenever|when|(?<!\bas\s)if|while|before|especially)\b).*$", re.IGNORECASE)
# Cards say "the user"; in the scene that is the person being spoken to.
_THE_USER_RE: Final = re.compile(r"\bthe user(?:'s)?", re.IGNORECASE)


def quirk(character: Character, mood: str, seed: int) -> str:
    """One quirk shown, not told: a quoted phrase is spoken, an emoji quirk uses its own
    emojis (only in a good mood), anything else becomes a stage direction."""
    quirks = [*character.communication_style.quirks, *character.personality.quirks]
    if not quirks:
        return ""
    chosen = pick(quirks, seed // 2, 1)  # callers show a quirk on even seeds only
    if "emoji" in chosen.lower():
        own = "".join(ch for ch in chosen if unicodedata.category(ch) == "So")
        return (own or "🙂") if mood in POSITIVE_MOODS else ""
    quoted = _QUOTE_RE.search(chosen)
    if quoted:
        said = (quoted.group("double") or quoted.group("single")).strip().rstrip(":")
        line = capitalised(said)
        return line if line[-1] in ".!?…*" else line + "."
    action = _CONDITION_RE.sub("", chosen).strip().rstrip(".")
    action = _THE_USER_RE.sub(lambda m: "your" if m.group(0).endswith("'s") else "you", action)
    return f"*{action[:1].lower()}{action[1:]}*"

