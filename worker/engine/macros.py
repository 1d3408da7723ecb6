"""SillyTavern's core macros, expanded in card text as SillyTavern users expect.

Pure: ``expand(text, MacroContext)`` → text. The clock and the random source are in the
context, so a test (or a turn replayed) gets the same text. Every macro is matched
case-insensitively (``{{Char}}``, ``<bot>``), as SillyTavern and the V3 spec do:

==========================  ===================================================
``{{char}}`` ``<BOT>``      the character's name (its ``nickname`` when it has one,
``<CHAR>``                  as the V3 spec says)
``{{user}}`` ``<USER>``     the name of the person talking
``{{original}}``            in a card's system prompt: greenroom's default main prompt;
                            elsewhere nothing
``{{time}}``                the local time, ``2:05 PM``
``{{date}}``                the local date, ``December 2, 2026``
``{{weekday}}``             ``Wednesday``
``{{isotime}}``             ``14:05``; ``{{isodate}}``: ``2026-12-02``
``{{random:a,b,c}}``        one of the items, chosen by the context's random source;
``{{random::a::b}}``        with ``::`` an item may hold commas; ``\\,`` escapes one
``{{roll:d20}}``            a dice roll: ``N``, ``dN``, ``MdN``, ``MdN+K``/``-K``
                            (up to 100 dice of up to 1,000,000 sides); an invalid
                            formula gives nothing, as in SillyTavern
``{{// any text}}``         a comment: removed (it may span lines)
``{{newline}}``             a line break; ``{{noop}}`` nothing
==========================  ===================================================

A macro it does not know is left as written. The order follows SillyTavern's
``evaluateMacros``: comments go first, so a macro inside a comment does nothing.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

MAX_DICE: Final = 100
MAX_SIDES: Final = 1_000_000

_COMMENT = re.compile(r"\{\{//[\s\S]*?\}\}")
_RANDOM = re.compile(r"\{\{random\s?::?([^}]+)\}\}", re.IGNORECASE)
_ROLL = re.compile(r"\{\{roll[ :]([^}]+)\}\}", re.IGNORECASE)
_DICE = re.compile(r"(\d*)d(\d+)\s*(?:([+-])\s*(\d+))?", re.IGNORECASE)
_ESCAPED_COMMA = "\x00"


@dataclass(frozen=True, slots=True)
class MacroContext:
    """Who is speaking, and when. ``now`` is a timezone-aware local time; ``rng`` is the
    random source of ``{{random}}`` and ``{{roll}}`` (seed it for reproducible text);
    ``original`` is what ``{{original}}`` stands for."""

    char: str
    user: str
    now: dt.datetime
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    original: str = ""


def expand(text: str, context: MacroContext) -> str:
    """``text`` with every macro of the module docstring replaced. Linear in the text's
    length (plus the dice rolled, at most ``MAX_DICE`` per roll)."""
    if "{{" not in text and "<" not in text:
        return text
    text = _COMMENT.sub("", text)
    for macro, value in _values(context):
        text = _pattern(macro).sub(_literal(value), text)
    text = _RANDOM.sub(lambda m: _choice(m.group(1), context.rng), text)
    return _ROLL.sub(lambda m: _roll(m.group(1), context.rng), text)


def expand_names(text: str, *, char: str, user: str) -> str:
    """``text`` with only the name macros replaced (``{{char}}``, ``{{user}}``, ``<BOT>``,
    ``<CHAR>``, ``<USER>``, any case): what words people wrote get, so they stay as said."""
    if "{{" not in text and "<" not in text:
        return text
    for macro, value in (("<USER>", user), ("<BOT>", char), ("<CHAR>", char),
                         ("{{char}}", char), ("{{user}}", user)):
        text = _pattern(macro).sub(_literal(value), text)
    return text


def _values(context: MacroContext) -> list[tuple[str, str]]:
    now = context.now
    return [
        ("<USER>", context.user), ("<BOT>", context.char), ("<CHAR>", context.char),
        ("{{char}}", context.char), ("{{user}}", context.user),
        ("{{original}}", context.original), ("{{newline}}", "\n"), ("{{noop}}", ""),
        ("{{time}}", f"{now.hour % 12 or 12}:{now.minute:02d} {'AM' if now.hour < 12 else 'PM'}"),
        ("{{date}}", f"{now:%B} {now.day}, {now.year}"),
        ("{{weekday}}", f"{now:%A}"),
        ("{{isotime}}", f"{now:%H:%M}"),
        ("{{isodate}}", f"{now:%Y-%m-%d}"),
    ]


def _literal(value: str) -> Callable[[re.Match[str]], str]:
    return lambda _match: value


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _pattern(macro: str) -> re.Pattern[str]:
    compiled = _PATTERNS.get(macro)
    if compiled is None:
        compiled = _PATTERNS[macro] = re.compile(re.escape(macro), re.IGNORECASE)
    return compiled


def _choice(items: str, rng: random.Random) -> str:
    if "::" in items:
        options = items.split("::")
    else:
        options = [part.strip().replace(_ESCAPED_COMMA, ",")
                   for part in items.replace("\\,", _ESCAPED_COMMA).split(",")]
    return options[rng.randrange(len(options))] if options else ""


def _roll(formula: str, rng: random.Random) -> str:
    formula = formula.strip()
    if formula.isdigit():
        formula = f"1d{formula}"
    match = _DICE.fullmatch(formula)
    if match is None:
        return ""
    count = int(match.group(1) or "1")
    sides = int(match.group(2))
    if not (1 <= count <= MAX_DICE and 1 <= sides <= MAX_SIDES):
        return ""
    total = sum(rng.randint(1, sides) for _ in range(count))
    if match.group(3):
        total += int(match.group(4)) * (1 if match.group(3) == "+" else -1)
    return str(total)
