"""Where the chat writes: a colour terminal (rich) or plain lines (pipes, scripts, tests).

``Screen`` is the small surface the chat session writes through; ``RichScreen`` and
``PlainScreen`` differ only in which pure renderer they call (``client.render``). Without a
TTY nothing is coloured or redrawn, every message ends with a newline, and the prompt is a
plain ``> `` line so a script (or pexpect) can wait for it.
"""

from __future__ import annotations

import sys
from typing import Protocol, TextIO

from rich.console import Console, RenderableType
from rich.text import Text

from client import render
from client.vitals_view import VitalsView


class Screen(Protocol):
    """Output of the chat. ``reply_*`` frame one streamed reply; the rest are whole lines."""

    def reply_begin(self, speaker: str) -> None: ...

    def reply_delta(self, text: str) -> None: ...

    def reply_end(self) -> None: ...

    def text(self, text: str) -> None:
        """Ordinary output (lists, results), printed as is."""

    def notice(self, text: str) -> None:
        """A state change worth noticing (connection, worker, mode)."""

    def error(self, text: str) -> None: ...

    def vitals(self, view: VitalsView) -> None: ...

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

    def reply_delta(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()

    def reply_end(self) -> None:
        self._line("")

    def text(self, text: str) -> None:
        self._line(text)

    def notice(self, text: str) -> None:
        self._line(f"* {text}")

    def error(self, text: str) -> None:
        self._line(f"! {text}")

    def vitals(self, view: VitalsView) -> None:
        self._line(render.vitals_plain(view))

    def help(self) -> None:
        self._line(render.help_plain())

    def clear(self) -> None:
        """A pipe has no screen to clear; say so instead of printing escape codes."""
        self._line("* (clear: nothing to clear without a terminal)")


class RichScreen:
    """Colour output through rich; the console follows ``sys.stdout`` at write time, so it
    keeps working while prompt_toolkit's ``patch_stdout`` swaps the stream."""

    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console(force_terminal=True, highlight=False, soft_wrap=True)

    def reply_begin(self, speaker: str) -> None:
        self._console.print(Text(f"{speaker}: ", style="bold magenta"), end="")

    def reply_delta(self, text: str) -> None:
        self._console.print(Text(text), end="")

    def reply_end(self) -> None:
        self._console.print()

    def text(self, text: str) -> None:
        self._console.print(Text(text))

    def notice(self, text: str) -> None:
        self._console.print(Text(f"• {text}", style="yellow"))

    def error(self, text: str) -> None:
        self._console.print(Text(f"✗ {text}", style="bold red"))

    def vitals(self, view: VitalsView) -> None:
        self.show(render.vitals_panel(view))

    def help(self) -> None:
        self.show(render.help_table())

    def clear(self) -> None:
        self._console.clear()

    def show(self, renderable: RenderableType) -> None:
        self._console.print(renderable)
