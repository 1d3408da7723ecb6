"""An imported card's own words, so the scripted composer can speak as the card offline.

A Character Card has no occupation, interests or values for the composer's tables; what it
has is prose. ``card_voice`` reads three things from it:

* **lines**: what the character says in the card's example messages — the ``{{char}}:``
  turns of ``mes_example`` (and of an example block in the ``description``, where many
  cards keep one), else its greetings — cut into pieces a reply can reuse: each action
  (``*smiles*``) and each stretch of speech, the first sentence of a long one;
* **traits**: the personality as a list: the card's ``personality`` when it is a short list
  ("Cool, Impulsive, Wary"), else a ``Personality= "caring", "protective"`` (PList) or
  ``personality is: smart, cool`` line of the description;
* **scenario**: the first sentences of the card's ``scenario``.

The composer (``compose``) answers "who are you?" from the traits and the description,
"where am I?" from the scenario, and otherwise adds the example line that shares most words
with the message (ties, and messages sharing none, by the turn's seed). Pure and
deterministic; names are filled in with the macros people's words get.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from schemas.cards import IMPORTED_ARCHETYPE
from schemas.model import Character
from worker.engine.macros import expand_names
from worker.scripted_replies.choice import pick
from worker.scripted_replies.phrases import SENTENCE_RE, STOPWORDS, WORD_RE

MAX_LINE_CHARS: Final = 220
MIN_LINE_CHARS: Final = 12
MAX_LINES: Final = 200
_SPEAKER = re.compile(r"^\s*(\{\{char\}\}|<bot>|<char>|\{\{user\}\}|<user>)\s*:\s*",
                      re.IGNORECASE)
_ACTION = re.compile(r"\*[^*]+\*")
_PLIST = re.compile(r"personality[^=:\n]{0,20}[=:]\s*([^\]\n]+)", re.IGNORECASE)
_IDENTITY = re.compile(r"\bwho are you\b|\babout yourself\b|\byour name\b|"
                       r"\bintroduce yourself\b|\bwhat are you\b", re.IGNORECASE)
_SCENE_QUESTION = re.compile(
    r"\bwhere (?:am i|are we|is this)\b|\bwhat(?: is|'s) (?:this place|going on|happening|"
    r"the situation)\b|\bwhat happened\b|\bwho am i\b|\bwhy am i here\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class CardVoice:
    lines: tuple[str, ...]
    traits: tuple[str, ...]
    scenario: str | None
    description: str | None


def card_voice(character: Character) -> CardVoice | None:
    """The card's lines, traits and scenario; ``None`` for a character not imported from a
    card (its structured fields speak for it) or a card that has none of them."""
    if character.archetype != IMPORTED_ARCHETYPE:
        return None
    roleplay = character.roleplay
    lines = _example_lines(roleplay.example_dialogue or "")
    lines += _example_lines(character.description)
    for greeting in (roleplay.first_message, *roleplay.alternate_greetings):
        lines += [p for p in _pieces(greeting or "") if p not in lines]
    traits = _traits(character)
    scenario = _first_sentences(roleplay.scenario or "", 2)
    if scenario and scenario[-1] not in ".!?*\"":
        scenario += "."
    description = _first_sentences(_without_examples(character.description), 1)
    if not (lines or traits or scenario or description):
        return None
    return CardVoice(tuple(lines[:MAX_LINES]), traits, scenario, description)


def asks_who(message: str) -> bool:
    """The message asks who the character is ("who are you?", "tell me about yourself")."""
    return bool(_IDENTITY.search(message))


def is_scene_question(message: str) -> bool:
    """A question about where the user is or what is going on: the scenario answers it."""
    return bool(_SCENE_QUESTION.search(message))


def identity_line(voice: CardVoice, character: Character, seed: int) -> str:
    name = character.roleplay.nickname or character.name
    if voice.traits:
        shown = [voice.traits[(seed + i) % len(voice.traits)]
                 for i in range(min(3, len(voice.traits)))]
        listed = ", ".join(shown[:-1]) + (" and " if len(shown) > 1 else "") + shown[-1]
        return f"I'm {name} — {listed.lower()}, or so I'm told."
    if voice.description:
        ending = "" if voice.description[-1] in ".!?" else "."
        return f"I'm {name}. {voice.description}{ending}"
    return f"I'm {name}."


def best_line(voice: CardVoice, message: str, seed: int) -> str | None:
    """The example line sharing most content words with ``message``; by ``seed`` among
    equals (and when none shares a word)."""
    wanted = _content_words(message)
    scores = [len(wanted & _content_words(line)) for line in voice.lines]
    top = max(scores, default=0)
    if top:
        return pick([line for line, score in zip(voice.lines, scores, strict=True)
                     if score == top], seed, 7)
    spare = [*voice.lines, *(f"{trait.capitalize()} — that's me, {{{{user}}}}."
                             for trait in voice.traits)]
    return pick(spare, seed, 7) if spare else None


def named(text: str, character: Character, user: str) -> str:
    """``text`` with the card's name macros filled in."""
    return expand_names(text, char=character.roleplay.nickname or character.name,
                        user=user or "you")


def _content_words(text: str) -> frozenset[str]:
    return frozenset(w.lower() for w in WORD_RE.findall(text)
                     if len(w) > 3 and w.lower() not in STOPWORDS)


def _example_lines(text: str) -> list[str]:
    """The pieces of every ``{{char}}:`` turn in an example block."""
    lines: list[str] = []
    speaking = False
    turn: list[str] = []
    for raw in text.splitlines():
        if raw.strip().upper() == "<START>":
            speaking = False
            continue
        match = _SPEAKER.match(raw)
        if match:
            if speaking:
                lines += _pieces(" ".join(turn))
            speaking = match.group(1).lower() in ("{{char}}", "<bot>", "<char>")
            turn = [raw[match.end():]]
        elif speaking:
            turn.append(raw)
    if speaking:
        lines += _pieces(" ".join(turn))
    return lines


def _pieces(text: str) -> list[str]:
    """Actions (``*…*``) and stretches of speech, each at most ``MAX_LINE_CHARS``."""
    pieces: list[str] = []
    position = 0
    for action in _ACTION.finditer(text):
        pieces.append(text[position:action.start()])
        pieces.append(action.group(0))
        position = action.end()
    pieces.append(text[position:])
    kept = []
    for piece in (" ".join(p.split()) for p in pieces):
        if "```" in piece or "`" in piece:
            continue  # code is no line to say
        if piece.startswith("*"):
            body = _first_sentences(piece.strip("*"), 1)
            piece = f"*{body.rstrip('.')}.*" if body else ""
        elif len(piece) > MAX_LINE_CHARS:
            piece = _first_sentences(piece, 1) or ""
        if piece.count('"') % 2:
            piece = piece + '"' if piece.startswith('"') else piece.replace('"', "")
        if MIN_LINE_CHARS <= len(piece) <= MAX_LINE_CHARS + 2:
            kept.append(piece)
    return kept


def _first_sentences(text: str, count: int) -> str | None:
    sentences = [s.strip() for s in SENTENCE_RE.findall(text.replace("\r", " ")) if s.strip()]
    chosen = " ".join(sentences[:count])
    if not chosen:
        return None
    return chosen if len(chosen) <= MAX_LINE_CHARS else chosen[:MAX_LINE_CHARS].rsplit(" ", 1)[0]


def _without_examples(description: str) -> str:
    """The description's prose: no example block, no speaker lines, no PList lists
    (``[X's body= "pink hair", …]``); other brackets unwrapped."""
    head = re.split(r"<START>", description, maxsplit=1, flags=re.IGNORECASE)[0]
    prose = " ".join(line for line in head.splitlines() if not _SPEAKER.match(line))
    prose = re.sub(r"\[[^\]]*\"[^\]]*\]", " ", prose)
    return prose.replace("[", " ").replace("]", " ").strip()


def _traits(character: Character) -> tuple[str, ...]:
    summary = (character.personality.summary or "").strip()
    if summary and len(summary) <= 200 and "," in summary:
        return _listed(summary)
    match = _PLIST.search(character.description)
    return _listed(match.group(1)) if match else ()


def _listed(text: str) -> tuple[str, ...]:
    parts = re.split(r",|\band\b|\+", text.replace('"', "").replace(".", ""))
    return tuple(p.strip() for p in parts if 1 < len(p.strip()) <= 40)
