"""The sentences of a scripted reply that answer the message: opening, reaction, answer."""

from __future__ import annotations

from schemas.model import Character
from worker.backends.base import ReplyContext
from worker.scripted_replies.choice import pick
from worker.scripted_replies.lines import (
    ANSWERS,
    FEEL_LINES,
    FEELINGS_LOW,
    HOW_ARE_YOU,
    OPENINGS,
    OWN_TASTE_LINES,
    SHARED_LINES,
    TOPIC_LINES,
)
from worker.scripted_replies.names import short_name
from worker.scripted_replies.phrases import capitalised
from worker.scripted_replies.questions import Question
from worker.scripted_replies.statements import Statement
from worker.scripted_replies.tone import (
    INTERJECTIONS,
    MOOD_LEAD_FROM,
    SORE_VALENCE,
    tone_of,
)
from worker.scripted_replies.voice import domain_years, is_terse, shared, top_value


def opening(context: ReplyContext, formal: bool, name: str, seed: int) -> str:
    """The first sentence: an opening for the intent in the register (``formal``), the user
    addressed by ``name`` (none when ""), coloured by the mood unless the message was unkind."""
    casual_lines, formal_lines = OPENINGS.get(context.intent, OPENINGS["smalltalk"])
    line = pick(formal_lines if formal else casual_lines, seed).format(
        n=f", {name}" if name else "",
        me=context.character.name if context.turn_index == 1 else short_name(context.character))
    tone = tone_of(context.mood)
    if context.intent == "hostile" or context.valence <= SORE_VALENCE:
        return line  # no cheerful colouring after unkindness: it would read as not hearing it
    if tone.end and line[-1] in ".!" and line[-1] != tone.end:
        line = line[:-1] + tone.end
    first_word = line.split()[0].strip(",.!?—").lower()
    if (tone.leads and context.mood_intensity >= MOOD_LEAD_FROM
            and first_word not in INTERJECTIONS):
        line = f"{pick(tone.leads, seed // 3, 10)} {line}"
    return line


def reaction(character: Character, statement: Statement, seed: int) -> list[str]:
    """A reaction to what the user said about themselves, then (unless the character is
    terse) how it touches the character's own specialty or tastes."""
    what = statement.what
    # Each template is formatted once: the user's words are inserted, never parsed as a
    # template, so braces in a message are just text.
    if statement.kind == "feel":
        template = pick(FEEL_LINES[what.split()[0].lower() in FEELINGS_LOW], seed, 4)
    else:
        template = pick(TOPIC_LINES[statement.kind], seed, 4)
    lines = [template.format(what=what, What=capitalised(what), verb=statement.verb or "got")]
    touched = shared(character, what)
    if is_terse(character):
        pass  # a terse character reacts and stops
    elif touched:
        lines.append(pick(SHARED_LINES, seed, 5).format(shared=touched))
    elif statement.kind in ("love", "hate") and character.demographics.interests:
        interest = pick(character.demographics.interests, seed, 5)
        lines.append(pick(OWN_TASTE_LINES, seed, 6).format(interest=interest))
    return lines


def answer(context: ReplyContext, question: Question, seed: int) -> str:
    """The answer to ``question`` from the character's card: mood, name and occupation,
    location, interests, specialty, values; honest about a topic outside the specialty."""
    character = context.character
    kind, what = question.kind, question.topic or "that"
    if kind == "how_are_you":
        return HOW_ARE_YOU.get(context.mood, HOW_ARE_YOU["neutral"]) + " And you?"
    occupation = character.demographics.occupation or ""
    interests = character.demographics.interests
    if kind == "memory":
        kind = "memory_yes" if context.memory_snippets else "memory_no"
    elif kind == "identity" or (kind == "job" and not occupation):
        kind = "identity"
    elif kind == "origin" and not character.demographics.location:
        kind = "general"
    elif kind == "favourite" and not interests:
        kind = "opinion"
    shared_interest = shared(character, what)
    interest = shared_interest or (pick(interests, seed, 8) if interests else "")
    if kind == "advice" and shared_interest:
        kind = "advice_shared"
    if kind in ("opinion", "general", "favourite"):
        if shared_interest:
            kind += "_shared"
        elif kind == "favourite":
            kind += "_other"
        elif kind == "opinion":
            kind += "_open" if character.personality.big_five.openness >= 0.5 else "_closed"
        else:
            kind += "_other"
    occupation_text = occupation[:1].lower() + occupation[1:]
    return pick(ANSWERS[kind], seed, 7).format(
        full=character.name, what=what, What=capitalised(what),
        occupation_clause=f", {occupation_text}" if occupation else "",
        occupation_sentence=f"{capitalised(occupation)}." if occupation else "",
        Occupation=capitalised(occupation), location=character.demographics.location or "",
        interest=interest,
        value=top_value(character, seed), domain=character.specialty.domain or "my line of work",
        domain_years=domain_years(character), shared=shared_interest or "",
    )

