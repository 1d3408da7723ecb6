"""Cutting a stream of text pieces into chunks of bounded size: the pure core of a streamed
export.

Pieces are joined while they fit and cut where they do not, so every chunk but the last holds
exactly ``max_chars`` characters and the chunks concatenate back to the pieces' text. Memory:
one chunk plus the piece being cut.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def text_chunks(pieces: Iterable[str], max_chars: int) -> Iterator[str]:
    """The text of ``pieces`` again, as chunks of ``max_chars`` characters (the last one
    shorter; nothing at all for empty text)."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, not {max_chars}")
    held: list[str] = []
    held_chars = 0
    for piece in pieces:
        start = 0
        while len(piece) - start >= max_chars - held_chars:
            end = start + max_chars - held_chars
            held.append(piece[start:end])
            yield "".join(held)
            held, held_chars, start = [], 0, end
        if start < len(piece):
            held.append(piece[start:])
            held_chars += len(piece) - start
    if held_chars:
        yield "".join(held)
