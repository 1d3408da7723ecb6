"""The ``scripted`` backend: offline, deterministic, in-character replies without a model.

This is the engine for **development, tests and demos**: it lets everything run on a fresh
machine with no LLM server, and makes every conversation reproducible. It is not a language
model and does not pretend to understand: it assembles a reply from the ``ReplyContext`` the
engine puts on each request — the character's name, voice (formality, humour), quirks and
specialty, the intent of the message (greeting, question, thanks, hostility, small talk…),
the current mood, and a memory when one matched — and streams it word by word.

Deterministic by construction: choices are made by plain arithmetic on the turn index, the
message length and the requested ``variant``, never by ``random`` or ``hash()``, so a reply is
the same in every process whatever ``PYTHONHASHSEED`` is. A regenerate asks for the next
variant, which moves every choice one step on: consecutive variants always open differently
(each intent has three openings, so variants ``n`` and ``n + 3`` may read alike).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Sequence
from typing import Final

from worker.backends.base import (
    ChatMessage,
    GenerationDone,
    GenerationRequest,
    ReplyContext,
    TextDelta,
)
from worker.characters.model import Character

_WORD_RE: Final = re.compile(r"[A-Za-z][A-Za-z'-]+")
_TOKEN_RE: Final = re.compile(r"\S+\s*")
_STOPWORD_TEXT: Final = (
    "the a an and or but if of to in on at for with about from into is are was were be been "
    "am do does did have has had what why how who where when which can could would should "
    "will you your yours me my mine we our us they them their it its this that these those "
    "there here just really very so too also not no yes hey hello hi please thanks thank tell "
    "know think like want get got some any much many more most i'm you're it's don't"
)
_STOPWORDS: Final = frozenset(_STOPWORD_TEXT.split())

_OPENINGS: Final[dict[str, tuple[str, ...]]] = {
    "greeting": ("{hello}, {user}! I'm {name}.", "{hello}, {user}. {name} here.",
                 "{hello}, {user} — good to see you."),
    "farewell": ("Take care, {user}.", "Until next time, {user}.", "Goodbye for now, {user}."),
    "thanks": ("You're very welcome, {user}.", "Any time, {user}.", "Glad I could help."),
    "apology": ("Apology accepted, {user}.", "It's all right, {user}. Really.",
                "Thank you for saying that."),
    "hostile": ("That was uncalled for, {user}.", "I don't appreciate that tone, {user}.",
                "Well. That stung."),
    "joke": ("Ha! Good one, {user}.", "Oh, that's funny.", "You made me laugh, {user}."),
    "compliment": ("That's kind of you, {user}.", "You're making me blush, {user}.",
                   "What a lovely thing to say."),
    "question": ("Good question, {user}.", "Let me think about that.", "Hmm, you want to know"
                 " about {topic}."),
    "smalltalk": ("Mm, {topic} — tell me more.", "I hear you, {user}.",
                  "Interesting, {topic}. Go on."),
}
_FORMAL_HELLO: Final = "Good day"
_CASUAL_HELLO: Final = "Hey"

_MOOD_LINES: Final[dict[str, tuple[str, str]]] = {
    # (mild, strong) — how the current mood leaks into the reply.
    "happy": ("I'm in a good mood today.", "Honestly, I'm in a wonderful mood!"),
    "excited": ("I'm buzzing a little.", "I can hardly sit still — this is exciting!"),
    "content": ("Things feel pleasant right now.", "I feel genuinely content."),
    "calm": ("I'm feeling calm.", "Everything feels still and clear."),
    "neutral": ("", ""),
    "anxious": ("I'm a bit on edge, to be honest.", "I'm really quite anxious right now."),
    "stressed": ("It's been a tense moment.", "I'm stressed, and it shows, I'm sure."),
    "sad": ("I'm feeling a little low.", "I'm rather sad at the moment."),
    "irritated": ("I'm a touch irritated.", "I'm honestly irritated right now."),
    "tired": ("I'm a bit tired.", "I'm worn out, if I'm honest."),
}
_EMOJI_BY_MOOD: Final[dict[str, str]] = {
    "happy": "😄", "excited": "🤩", "content": "🙂", "calm": "😌", "neutral": "🙂",
    "anxious": "😬", "stressed": "😣", "sad": "😔", "irritated": "😤", "tired": "😴",
}


def _pick(options: Sequence[str], seed: int) -> str:
    return options[seed % len(options)]


def _topic(message: str) -> str:
    """The message's most telling word: the longest non-stopword (first on ties)."""
    words = [w for w in _WORD_RE.findall(message) if w.lower() not in _STOPWORDS]
    if not words:
        return "that"
    longest: str = max(words, key=len)  # max keeps the first of equal lengths
    return longest.lower()


def _is_formal(character: Character) -> bool:
    formality = (character.communication_style.formality_level or "").lower()
    return any(word in formality for word in ("formal", "high", "proper", "polite"))


def _quirk_line(character: Character, context: ReplyContext, seed: int) -> str:
    """One of the character's quirks, shown rather than told."""
    quirks = [*character.communication_style.quirks, *character.personality.quirks]
    if not quirks:
        return ""
    quirk = _pick(quirks, seed)
    lowered = quirk.lower()
    if "emoji" in lowered:
        return _EMOJI_BY_MOOD.get(context.mood, "🙂")
    if "asks" in lowered and "question" in lowered:
        return "But what do you think?"
    # Most quirks are written as actions ("Taps the table when thinking"): a stage direction.
    return f"*{lowered.rstrip('.')}*"


def _question_body(character: Character, topic: str) -> str:
    domain = character.specialty.domain
    if domain:
        return (f"From where I stand, in {domain}, {topic} is something I'd want to look at "
                "closely before giving you a firm answer.")
    if character.demographics.interests:
        return (f"I'm no authority on {topic}, but it reminds me of "
                f"{character.demographics.interests[0]}, which I love.")
    return f"I don't have a neat answer about {topic}, but I'm glad you asked."


def compose_reply(context: ReplyContext) -> str:
    """The scripted reply for ``context``: pure and deterministic."""
    character = context.character
    # The variant shifts the seed, so a regenerate picks the next opening (and quirk).
    seed = context.turn_index + len(context.user_message) + context.variant
    formal = _is_formal(character)
    topic = _topic(context.user_message)
    opening = _pick(_OPENINGS.get(context.intent, _OPENINGS["smalltalk"]), seed).format(
        hello=_FORMAL_HELLO if formal else _CASUAL_HELLO,
        user=context.user_name,
        name=character.name,
        topic=topic,
    )
    parts = [opening]
    first_message = character.roleplay.first_message
    # The card's first message is the first answer to a first greeting; a regenerate of it
    # (variant > 0) falls back to the openings so that it reads differently.
    if (context.intent == "greeting" and context.turn_index == 1 and first_message
            and context.variant == 0):
        parts = [first_message.replace("{{char}}", character.name)
                 .replace("{{user}}", context.user_name)]
    if context.intent == "question":
        parts.append(_question_body(character, topic))
    if context.memory_snippets:
        parts.append(f"That reminds me — {context.memory_snippets[0].rstrip('.')}.")
    mild, strong = _MOOD_LINES.get(context.mood, ("", ""))
    mood_line = strong if context.mood_intensity >= 0.5 else mild
    if mood_line:
        parts.append(mood_line)
    if context.intent == "hostile" and character.personality.big_five.agreeableness >= 0.6:
        parts.append("Let's start over, shall we?" if formal else "Can we start over?")
    quirk = _quirk_line(character, context, seed)
    if quirk:
        parts.append(quirk)
    if character.communication_style.humor_style and context.intent in ("joke", "smalltalk"):
        parts.append(f"(My humour runs {character.communication_style.humor_style.lower()}.)")
    return " ".join(part for part in parts if part)


def _fallback_reply(messages: Sequence[ChatMessage]) -> str:
    last = next((m.content for m in reversed(messages) if m.role == "user"), "")
    return f"You said: {last}" if last else "I'm listening."


class ScriptedBackend:
    """The offline backend. ``word_delay_s`` spaces the streamed words (0: no delay, but
    each word still yields to the event loop, so a reply can be cancelled mid-stream)."""

    name = "scripted"

    def __init__(self, *, word_delay_s: float = 0.0) -> None:
        if word_delay_s < 0:
            raise ValueError(f"word_delay_s must be >= 0, got {word_delay_s!r}")
        self.word_delay_s = word_delay_s

    async def check(self) -> None:
        """Always available: there is no server."""

    async def generate(self, request: GenerationRequest
                       ) -> AsyncIterator[TextDelta | GenerationDone]:
        started = time.perf_counter()
        reply = (compose_reply(request.context) if request.context is not None
                 else _fallback_reply(request.messages))
        tokens = _TOKEN_RE.findall(reply)
        finish: str = "stop"
        limit = request.options.max_tokens
        if limit is not None and len(tokens) > limit:
            tokens, finish = tokens[:limit], "length"
        for token in tokens:
            await asyncio.sleep(self.word_delay_s)
            yield TextDelta(token)
        duration = time.perf_counter() - started
        yield GenerationDone(
            backend=self.name,
            model="scripted",
            finish_reason="length" if finish == "length" else "stop",
            prompt_tokens=sum(len(m.content) // 4 + 4 for m in request.messages),
            completion_tokens=len(tokens),
            duration_s=duration,
            tokens_per_s=len(tokens) / duration if duration > 0 else None,
        )

    async def aclose(self) -> None:
        """Nothing to release."""
