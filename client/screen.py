"""Where the chat writes: a colour terminal (rich) or plain lines (pipes, scripts, tests).

``Screen`` is the small surface the chat session writes through; ``RichScreen`` and
``PlainScreen`` differ only in which pure renderer they call (``client.render``). Without a
TTY nothing is coloured or redrawn, every message ends with a newline, and the prompt is a
plain ``> `` line so a script (or pexpect) can wait for it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from typing import Protocol, TextIO

from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.control import Control
from rich.segment import ControlType
from rich.status import Status
from rich.text import Text

from client import render
from client.layout import change_line
from client.vitals_view import TurnChange, VitalsView
from client.word_wrap import Erase, Piece, StreamWrap, wrap_whole

LevelHistory = Mapping[str, Sequence[float]]


class Screen(Protocol):
    """Output of the chat. ``reply_*`` frame one streamed reply; the rest are whole lines."""

    def reply_begin(self, speaker: str) -> None: ...

    def reply_waiting(self, phase: str, elapsed_s: float) -> None:
        """The reply has no token yet: the server is at ``phase`` since ``elapsed_s``."""

    def reply_waiting_end(self) -> None:
        """The wait shown by ``reply_waiting`` is over (first token, error, cancel)."""

    def reply_delta(self, text: str) -> None: ...

    def reply_end(self) -> None: ...

    def reply_whole(self, speaker: str, text: str) -> None:
        """A reply known whole (another person's turn), in one write: it may arrive while
        the prompt is on screen, which can only keep whole lines above it."""

    def text(self, text: str) -> None:
        """Ordinary output (lists, results), printed as is."""

    def notice(self, text: str) -> None:
        """A state change worth noticing (connection, worker, mode)."""

    def error(self, text: str) -> None: ...

    def vitals(self, view: VitalsView, history: LevelHistory | None = None) -> None:
        """The full panel; with ``history``, a sparkline of each level over those turns."""

    def turn_change(self, change: TurnChange, *, own: bool) -> None:
        """One line of what a turn changed (``own``: this user's; else it names who)."""

    def help(self) -> None: ...

    def clear(self) -> None: ...


class PlainScreen:
    """Plain text to ``stream`` (stdout by default): no colour, no cursor movement."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    @property
    def _out(self) -> TextIO:
        return self._stream or sys.stdout

    def _line(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()

    def reply_begin(self, speaker: str) -> None:
        self._out.write(f"{speaker}: ")
        self._out.flush()

    def reply_waiting(self, phase: str, elapsed_s: float) -> None:
        """Nothing: a pipe or a script gets the reply, not a progress display."""

    def reply_waiting_end(self) -> None:
        """Nothing was shown."""

    def reply_delta(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()

    def reply_end(self) -> None:
        self._line("")

    def reply_whole(self, speaker: str, text: str) -> None:
        self._line(f"{speaker}: {text}")

    def text(self, text: str) -> None:
        self._line(text)

    def notice(self, text: str) -> None:
        self._line(f"* {text}")

    def error(self, text: str) -> None:
        self._line(f"! {text}")

    def vitals(self, view: VitalsView, history: LevelHistory | None = None) -> None:
        self._line(render.vitals_plain(view, history))

    def turn_change(self, change: TurnChange, *, own: bool) -> None:
        self._line(render.turn_change_plain(change, own=own))

    def help(self) -> None:
        self._line(render.help_plain())

    def clear(self) -> None:
        """A pipe has no screen to clear; say so instead of printing escape codes."""
        self._line("* (clear: nothing to clear without a terminal)")


class RichScreen:
    """Colour output through rich; the console follows ``sys.stdout`` at write time, so it
    keeps working while prompt_toolkit's ``patch_stdout`` swaps the stream. A streamed
    reply is wrapped at word boundaries for the terminal's width at each delta
    (``StreamWrap``): the terminal never breaks a word."""

    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console(force_terminal=True, highlight=False, soft_wrap=True)
        self._waiting: Status | None = None
        self._elapsed = _Elapsed()
        self._wrap = StreamWrap()

    def reply_begin(self, speaker: str) -> None:
        label = f"{speaker}: "
        self._wrap = StreamWrap(column=cell_len(label))
        self._console.print(Text(label, style="bold magenta"), end="")

    def reply_waiting(self, phase: str, elapsed_s: float) -> None:
        """A transient spinner with the phase and a running count of seconds."""
        self._elapsed.restart(phase, elapsed_s)
        if self._waiting is None:
            self._waiting = self._console.status(self._elapsed, spinner="dots")
            self._waiting.start()

    def reply_waiting_end(self) -> None:
        if self._waiting is not None:
            self._waiting.stop()
            self._waiting = None

    def reply_delta(self, text: str) -> None:
        self._write(self._wrap.feed(text, self._console.width))

    def reply_end(self) -> None:
        self._write(self._wrap.finish(self._console.width))
        self._console.print()

    def reply_whole(self, speaker: str, text: str) -> None:
        label = f"{speaker}: "
        wrapped = wrap_whole(text, self._console.width, cell_len(label))
        self._console.print(Text.assemble((label, "bold magenta"), wrapped))

    def _write(self, pieces: list[Piece]) -> None:
        for piece in pieces:
            if isinstance(piece, Erase):
                self._console.control(Control((ControlType.CURSOR_BACKWARD, piece.cells),
                                              (ControlType.ERASE_IN_LINE, 0)))
            else:
                self._console.print(Text(piece), end="")

    def text(self, text: str) -> None:
        self._console.print(Text(text))

    def notice(self, text: str) -> None:
        self._console.print(Text(f"• {text}", style="yellow"))

    def error(self, text: str) -> None:
        self._console.print(Text(f"✗ {text}", style="bold red"))

    def vitals(self, view: VitalsView, history: LevelHistory | None = None) -> None:
        self.show(render.vitals_panel(view, history))

    def turn_change(self, change: TurnChange, *, own: bool) -> None:
        self._console.print(Text(change_line(change, self._console.width, own=own),
                                 style="dim"))

    def help(self) -> None:
        self.show(render.help_table())

    def clear(self) -> None:
        self._console.clear()

    def show(self, renderable: RenderableType) -> None:
        self._console.print(renderable)


class _Elapsed:
    """The spinner's text, rendered afresh on every refresh so the seconds keep counting."""

    def __init__(self) -> None:
        self._phase = ""
        self._since = time.monotonic()

    def restart(self, phase: str, elapsed_s: float) -> None:
        self._phase = phase
        self._since = time.monotonic() - elapsed_s

    def __rich__(self) -> Text:
        return Text(render.waiting_text(self._phase, time.monotonic() - self._since),
                    style="dim")
