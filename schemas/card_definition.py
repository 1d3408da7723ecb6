"""A greenroom character in words, for the ``description`` of the card it is exported as.

SillyTavern builds its prompt from a card's text fields; greenroom's structured fields
(demographics, traits, values, communication style, specialty, backstory, goals) would be
lost to it unless they are written out. ``card_description`` writes them after the
character's own description, in plain sentences with ``{{char}}`` for the name, saying only
what the character file says. A card-born character (nothing but a description) gets its
description back unchanged, so exporting it again changes nothing.

Pure: a ``Character`` in, text out.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.model import Character


def card_description(character: Character) -> str:
    """The card ``description``: the character's description, then one paragraph per
    greenroom section the file fills in (hidden goals marked as secret)."""
    paragraphs = [character.description.strip()] if character.description.strip() else []
    for lines in (_about(character), _personality(character), _talk(character),
                  _knowledge(character), _story(character), _goals(character)):
        if lines:
            paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def _joined(items: Sequence[str]) -> str:
    return "; ".join(item.strip().rstrip(".") for item in items if item.strip())


def _about(c: Character) -> list[str]:
    facts = c.demographics.facts()
    return [f"About {{{{char}}}}: {_joined(facts)}."] if facts else []


def _personality(c: Character) -> list[str]:
    p = c.personality
    lines = []  # the summary is the card's own ``personality`` field
    if "big_five" in p.model_fields_set:
        b = p.big_five
        lines.append(
            f"Big Five: openness {b.openness:.2f}, conscientiousness {b.conscientiousness:.2f}, "
            f"extraversion {b.extraversion:.2f}, agreeableness {b.agreeableness:.2f}, "
            f"neuroticism {b.neuroticism:.2f} (0–1)."
        )
    if p.behavioral_traits:
        lines.append("Traits: " + _joined([t.trait for t in sorted(
            p.behavioral_traits, key=lambda t: -t.intensity)]) + ".")
    if p.core_values:
        lines.append("Values, most important first: " + _joined([v.value for v in sorted(
            p.core_values, key=lambda v: -v.priority)]) + ".")
    if p.strengths:
        lines.append(f"Strengths: {_joined(p.strengths)}.")
    if p.weaknesses:
        lines.append(f"Weaknesses: {_joined(p.weaknesses)}.")
    if p.quirks:
        lines.append(f"Quirks: {_joined(p.quirks)}.")
    m = c.mood_baseline
    if "mood_baseline" in c.model_fields_set:
        moods = f"; typical moods: {', '.join(m.typical_moods)}" if m.typical_moods else ""
        lines.append(f"Usual mood: {m.default_state}{moods}.")
    return ["{{char}}'s personality:", *lines] if lines else []


def _talk(c: Character) -> list[str]:
    s = c.communication_style
    facts = [
        f"verbal pattern: {s.verbal_pattern}" if s.verbal_pattern else "",
        f"social comfort: {s.social_comfort}" if s.social_comfort else "",
        f"body language: {s.body_language}" if s.body_language else "",
        f"formality: {s.formality_level}" if s.formality_level else "",
        f"humour: {s.humor_style}" if s.humor_style else "",
    ]
    lines = [f"How {{{{char}}}} talks: {_joined(facts)}."] if any(facts) else []
    if s.quirks:
        lines.append(f"Speech quirks: {_joined(s.quirks)}.")
    return lines


def _knowledge(c: Character) -> list[str]:
    s = c.specialty
    facts = [
        s.domain or "",
        f"{s.experience_years:g} years of experience" if s.experience_years is not None else "",
        f"knows {', '.join(s.subdomain_knowledge)}" if s.subdomain_knowledge else "",
        f"certifications: {', '.join(s.certifications)}" if s.certifications else "",
        f"achievements: {', '.join(s.notable_achievements)}" if s.notable_achievements else "",
    ]
    return [f"{{{{char}}}}'s specialty: {_joined(facts)}."] if any(facts) else []


def _story(c: Character) -> list[str]:
    return ["{{char}}'s backstory:", c.backstory.strip()] if c.backstory.strip() else []


def _goals(c: Character) -> list[str]:
    lines = []
    for kind, label in (("short_term", "Right now {{char}} wants to"),
                        ("long_term", "In the long run {{char}} wants to")):
        goals = [g.description for g in c.goals if g.goal_type == kind]
        if goals:
            lines.append(f"{label}: {_joined(goals)}.")
    hidden = [g.description for g in c.goals if g.goal_type == "hidden"]
    if hidden:
        lines.append("Secret motives ({{char}} never reveals or hints at them, but they steer "
                     f"what {{{{char}}}} does): {_joined(hidden)}.")
    return lines
