"""Splitting what someone said into sentences, and into pieces of bounded length (pure).

A sentence ends at ``.``, ``!`` or ``?`` followed by whitespace, or at a line break. Pieces are
sentences cut at word boundaries to at most ``MAX_PIECE_CHARS`` characters; a text of more
than ``MAX_PIECES`` of them is packed instead (neighbouring sentences joined into wider
pieces), so every word of it lands in one of about ``2 * MAX_PIECES`` pieces at most —
nothing is dropped, however long the text.
"""

from __future__ import annotations

import math
import re

MAX_PIECE_CHARS = 400
MAX_PIECES = 48

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def sentences(text: str) -> list[str]:
    """The sentences of ``text``, stripped, without empty ones."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def pieces(parts: list[str]) -> list[str]:
    """``parts`` (sentences, in order) as pieces: each part cut at word boundaries to at most
    ``MAX_PIECE_CHARS``; when that makes more than ``MAX_PIECES``, the parts are instead
    packed greedily into pieces of up to ``ceil(total / MAX_PIECES)`` characters."""
    cut = [piece for part in parts for piece in _cut(part, MAX_PIECE_CHARS)]
    if len(cut) <= MAX_PIECES:
        return cut
    # Two neighbouring packed pieces hold at least ``width`` characters together (else they
    # would be one), so there are about 2 * total / width = 2 * MAX_PIECES of them at most.
    width = max(MAX_PIECE_CHARS, math.ceil(sum(len(p) + 1 for p in parts) / MAX_PIECES))
    packed: list[str] = []
    for piece in (piece for part in parts for piece in _cut(part, width)):
        if packed and len(packed[-1]) + 1 + len(piece) <= width:
            packed[-1] = f"{packed[-1]} {piece}"
        else:
            packed.append(piece)
    return packed


def _cut(text: str, width: int) -> list[str]:
    """``text`` in runs of whole words of at most ``width`` characters (a longer word alone
    is cut where the width ends)."""
    if len(text) <= width:
        return [text]
    runs: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > width:
            if current:
                runs.append(current)
                current = ""
            runs.append(word[:width])
            word = word[width:]
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= width:
            current = f"{current} {word}"
        else:
            runs.append(current)
            current = word
    if current:
        runs.append(current)
    return runs
