"""``StreamWrap``: wrap a reply at word boundaries while it streams in. Pure.

A terminal wraps a long line wherever the last column falls, in the middle of a word
("street foo|d"). ``StreamWrap`` takes the deltas as they come and returns what to write:
the same text, with a line break before each word that does not fit on the current line.

A word that a delta ends in is shown as far as it fits before the line's last column — a
model that pauses mid-word still shows what it sent; words complete within a delta are
placed whole (a whole text, another client's reply, is never written and taken back). When
a word shown early then outgrows the line, the part already shown is erased (``Erase``:
move back and clear to the end of the line; only ever within the current line) and the word
starts again on the next line. The last column is written only once the word is known to
end there, so the terminal never sits in its pending-wrap state with a word that may still
move. Nothing is ever dropped: the spaces a line break replaces are the only characters not
written, and a word wider than a whole line is broken at the line's end. Widths are
terminal cells (``rich.cells``: a CJK character or an emoji takes two).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len


@dataclass(frozen=True, slots=True)
class Erase:
    """Move the cursor back ``cells`` cells and clear the line from there."""

    cells: int


Piece = str | Erase


class StreamWrap:
    """Word wrapping for one reply. ``column`` is where the cursor stands on its line."""

    def __init__(self, column: int = 0) -> None:
        self.column = column
        self._word = ""  # the word being received
        self._shown = 0  # how many of its characters are on the screen
        self._start = column  # the column it starts at (once its first character is shown)
        self._spaces = ""  # whitespace received since the last word, not yet written

    def feed(self, text: str, width: int) -> list[Piece]:
        """What to write for ``text`` on a line ``width`` cells wide (it may change between
        calls, when the terminal is resized). Words complete within ``text`` are placed
        whole; only the word ``text`` ends in is shown early, as far as it fits."""
        width = max(width, 2)
        out: list[Piece] = []
        for char in text:
            if char == "\n":
                self._complete(out, width)
                out.append("\n")
                self._spaces, self.column = "", 0
            elif char.isspace():
                self._complete(out, width)
                self._spaces += char
            else:
                self._word += char
        if self._word:
            self._show(out, width)
        return _joined(out)

    def finish(self, width: int) -> list[Piece]:
        """The rest of the last word; trailing spaces are not written."""
        out: list[Piece] = []
        self._complete(out, max(width, 2))
        return _joined(out)

    def _begin(self, out: list[Piece], width: int, size: int) -> None:
        """Start the word, ``size`` cells wide so far: after the spaces before it, or on
        the next line when it would not fit after them."""
        if self.column > 0 and self.column + cell_len(self._spaces) + size > width:
            out.append("\n")
            self.column = 0
        else:
            out.append(self._spaces)
            self.column += cell_len(self._spaces)
        self._spaces, self._start = "", self.column

    def _outgrown(self, out: list[Piece], width: int) -> None:
        """The word shown so far no longer fits its line: take it back and start it on the
        next one."""
        if self._start > 0 and self._start + cell_len(self._word) > width:
            if self.column > self._start:
                out.append(Erase(self.column - self._start))
            out.append("\n")
            self.column, self._start, self._shown = 0, 0, 0

    def _show(self, out: list[Piece], width: int) -> None:
        """Show what of the unfinished word fits before the line's last column."""
        if self._shown == 0:
            self._begin(out, width, 1)
        self._outgrown(out, width)
        while self._shown < len(self._word):
            size = cell_len(self._word[self._shown])
            if self.column + size >= width:
                return  # the last column waits until the word is known to end there
            out.append(self._word[self._shown])
            self.column += size
            self._shown += 1

    def _complete(self, out: list[Piece], width: int) -> None:
        """The word is complete: place it (moving what was shown of it when it no longer
        fits), broken at the line's end only when it is wider than a whole line."""
        if not self._word:
            return
        if self._shown == 0:
            self._begin(out, width, cell_len(self._word))
        else:
            self._outgrown(out, width)
        for char in self._word[self._shown:]:
            size = cell_len(char)
            if self.column + size > width:
                out.append("\n")
                self.column = 0
            out.append(char)
            self.column += size
        self._word, self._shown = "", 0


def _joined(pieces: list[Piece]) -> list[Piece]:
    """Adjacent strings as one (one write each)."""
    joined: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, str):
            if not piece:
                continue
            if joined and isinstance(joined[-1], str):
                joined[-1] += piece
                continue
        joined.append(piece)
    return joined


def wrap_whole(text: str, width: int, column: int = 0) -> str:
    """``text`` known whole, wrapped between words for lines ``width`` cells wide (the
    first starting at ``column``): what one write shows, nothing taken back."""
    wrap = StreamWrap(column)
    pieces = [*wrap.feed(text, width), *wrap.finish(width)]
    assert not any(isinstance(piece, Erase) for piece in pieces)  # a whole text is placed whole
    return "".join(piece for piece in pieces if isinstance(piece, str))
