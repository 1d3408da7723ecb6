"""``StreamWrap``: wrap a reply at word boundaries while it streams in. Pure.

A terminal wraps a long line wherever the last column falls, in the middle of a word
("street foo|d"). ``StreamWrap`` takes the deltas as they come and returns what to write:
the same text with a line break before each word that would not fit on the current line.
A word is held back until it is complete (whitespace or the end of the reply follows), since
only then is its width known; nothing is ever dropped — the spaces a line break replaces
are the only characters not written, and a word wider than the whole line is broken at the
line's end. Widths are terminal cells (``rich.cells.cell_len``: a CJK character or an emoji
takes two).
"""

from __future__ import annotations

from rich.cells import cell_len


class StreamWrap:
    """Word wrapping for one reply. ``column`` is where the cursor stands on its line."""

    def __init__(self, column: int = 0) -> None:
        self.column = column
        self._word = ""
        self._spaces = ""

    def feed(self, text: str, width: int) -> str:
        """What to write for ``text`` on a line ``width`` cells wide (it may change between
        calls, when the terminal is resized)."""
        out: list[str] = []
        for char in text:
            if char == "\n":
                out.append(self._place(width))
                out.append("\n")
                self._spaces = ""
                self.column = 0
            elif char.isspace():
                out.append(self._place(width))
                self._spaces += char
            else:
                self._word += char
        return "".join(out)

    def finish(self, width: int) -> str:
        """The word still held back, placed; trailing spaces are not written."""
        return self._place(width)

    def _place(self, width: int) -> str:
        word, self._word = self._word, ""
        if not word:
            return ""
        width = max(width, 1)
        spaces, self._spaces = self._spaces, ""
        size = cell_len(word)
        if self.column > 0 and self.column + cell_len(spaces) + size > width:
            lead, self.column = "\n", 0
        else:
            lead = spaces
            self.column += cell_len(spaces)
        return lead + self._break_long(word, width)

    def _break_long(self, word: str, width: int) -> str:
        """``word`` from the current column, broken at the line's end when it is wider than
        what is left of the line (only a word wider than a whole line gets here broken)."""
        out: list[str] = []
        for char in word:
            size = cell_len(char)
            if self.column + size > width and self.column > 0:
                out.append("\n")
                self.column = 0
            out.append(char)
            self.column += size
        return "".join(out)
