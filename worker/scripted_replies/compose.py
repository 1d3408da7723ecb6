"""A scripted reply put together: which parts a message gets, in which order.

See the package docstring for what the composer reads and how it answers.
"""

from __future__ import annotations

from worker.backends.base import ReplyContext
from worker.scripted_replies.card_voice import (
    CardVoice,
    asks_who,
    best_line,
    card_voice,
    identity_line,
    is_scene_question,
    named,
)
from worker.scripted_replies.choice import pick
from worker.scripted_replies.lines import GREETING_FOLLOW_UPS, HOSTILE_FOLLOW_UP, TOPIC_LINES
from worker.scripted_replies.memories import memory_line
from worker.scripted_replies.names import name_words, user_name
from worker.scripted_replies.parts import answer, opening, reaction
from worker.scripted_replies.phrases import capitalised, salient
from worker.scripted_replies.questions import question
from worker.scripted_replies.quirks import quirk
from worker.scripted_replies.statements import statement
from worker.scripted_replies.tone import MOOD_ASIDE_FROM, SORE_VALENCE, tone_of
from worker.scripted_replies.voice import humour, is_formal


def compose_reply(context: ReplyContext) -> str:
    """The scripted reply for ``context``: pure and deterministic (see the package docstring
    for what it reads and how it answers). Time is linear in the message's length."""
    character = context.character
    # The variant shifts the seed, so a regenerate picks the next opening (and the rest).
    seed = context.turn_index + len(context.user_message) + context.variant
    formal = is_formal(character)
    name = user_name(context)
    ignore = name_words(character) | {name.lower()}
    message = context.user_message
    intent = context.intent

    said = statement(message) if intent != "hostile" else None
    asked = question(message, ignore) if intent not in ("hostile", "farewell") else None

    parts = [opening(context, formal, name, seed)]
    if asked is not None and asked.kind == "how_are_you" and intent == "question":
        parts = []  # "How are you?" is answered straight, not called a good question
    first_message = character.roleplay.first_message
    # The card's first message is the first answer to a first greeting when no greeting
    # opened the conversation (a client that sent no greeting_request); a regenerate of it
    # (variant > 0) falls back to the openings so that it reads differently.
    greeted = bool(intent == "greeting" and context.turn_index == 1 and first_message
                   and context.variant == 0)
    if greeted and first_message:
        parts = [named(first_message, character, name or "friend")]

    voice = None if greeted else card_voice(character)
    own_words = [] if voice is None else _in_card_voice(context, voice, name, seed)
    if own_words:
        if intent in ("question", "smalltalk"):
            parts = []  # the card's own words answer, not the composer's stock openings
        parts += own_words
        said = asked = None
    if said is not None:
        parts.extend(reaction(character, said, seed))
    if asked is not None:
        parts.append(answer(context, asked, seed))
    if said is None and asked is None and intent == "greeting" and len(parts) == 1:
        parts.append(pick(GREETING_FOLLOW_UPS[1 if formal else 0], seed, 4))
    if said is None and asked is None and intent == "smalltalk":
        topic = salient(message, ignore)
        if topic:
            lines = TOPIC_LINES["salient_sore" if context.valence <= SORE_VALENCE else "salient"]
            parts.append(pick(lines, seed, 4).format(what=topic, What=capitalised(topic)))

    memory = memory_line(context, name, seed)
    if memory:
        parts.append(memory)
    if intent == "hostile":
        agreeable = character.personality.big_five.agreeableness >= 0.6
        parts.append(HOSTILE_FOLLOW_UP[agreeable][1 if formal else 0])
    if intent == "joke":
        parts.append(humour(character, seed))

    # One stage direction at most: on alternate turns a quirk, otherwise a strong mood shows.
    tone = tone_of(context.mood)
    shown = quirk(character, context.mood, seed) if seed % 2 == 0 and intent != "hostile" else ""
    strong = tone.aside and context.mood_intensity >= MOOD_ASIDE_FROM
    parts.append(shown or (tone.aside if strong else ""))
    return " ".join(part for part in parts if part)


def _in_card_voice(context: ReplyContext, voice: CardVoice, name: str, seed: int
                   ) -> list[str]:
    """What an imported card says to the message, in its own words (``card_voice``): who
    it is from its traits, where the user is from its scenario, else its example line
    closest to the message."""
    character = context.character
    parts = []
    if asks_who(context.user_message):
        parts.append(identity_line(voice, character, seed))
    elif voice.scenario and is_scene_question(context.user_message):
        parts.append(voice.scenario)
    line = best_line(voice, context.user_message, seed)
    if line is not None and line not in parts:
        parts.append(line)
    return [named(part, character, name) for part in parts]
