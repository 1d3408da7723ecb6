"""What the character's card changes in the wording: register, brevity, specialty, humour."""

from __future__ import annotations

from typing import Final

from schemas.model import Character
from worker.scripted_replies.choice import pick
from worker.scripted_replies.lines import DEFAULT_HUMOUR_LINE, HUMOUR_LINES
from worker.scripted_replies.phrases import WORD_RE

_FORMAL_WORDS: Final = ("formal", "high", "proper", "polite", "polished", "professional")
_TERSE_WORDS: Final = ("terse", "concise", "short", "sparse", "measured")


def is_formal(character: Character) -> bool:
    """Whether the card's ``formality_level`` asks for the formal openings."""
    formality = (character.communication_style.formality_level or "").lower()
    return any(word in formality for word in _FORMAL_WORDS)


def is_terse(character: Character) -> bool:
    """Whether the card's ``verbal_pattern`` is brief: a terse character reacts and stops."""
    pattern = (character.communication_style.verbal_pattern or "").lower()
    return any(word in pattern for word in _TERSE_WORDS)


def shared(character: Character, text: str) -> str | None:
    """The character's interest or specialty that ``text`` touches (a shared word of 4+
    letters, or a plural/singular of one), else None."""
    words = {w.lower().rstrip("s") for w in WORD_RE.findall(text) if len(w) >= 4}
    candidates = [*character.demographics.interests, *character.specialty.subdomain_knowledge]
    if character.specialty.domain:
        candidates.append(character.specialty.domain)
    for candidate in candidates:
        own = {w.lower().rstrip("s") for w in WORD_RE.findall(candidate) if len(w) >= 4}
        if words & own:
            return candidate
    return None


def domain_years(character: Character) -> str:
    """The specialty with its experience ("20 years of emergency medicine") when known."""
    specialty = character.specialty
    domain = specialty.domain or "my line of work"
    if specialty.experience_years:
        return f"{specialty.experience_years:g} years of {domain}"
    return domain


def top_value(character: Character, seed: int) -> str:
    """One of the character's two highest-priority core values ("honesty" without any)."""
    values = sorted(character.personality.core_values, key=lambda v: -v.priority)
    if not values:
        return "honesty"
    return pick([v.value for v in values[:2]], seed, 3)


def humour(character: Character, seed: int) -> str:
    """A line for a joke in the character's ``humor_style`` (a default line for any other)."""
    style = (character.communication_style.humor_style or "").lower()
    lines = [line for key, line in HUMOUR_LINES if key in style]
    return pick(lines, seed, 2) if lines else DEFAULT_HUMOUR_LINE
