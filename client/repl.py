"""The interactive loop: read lines, feed them to a ``ChatSession``, follow events.

On a terminal input comes from prompt_toolkit (line editing, persistent history in the data
directory, a bottom toolbar with the vitals that updates live); otherwise lines are read from
stdin as they come, so the chat can be scripted. Each loop owns one event-follower task,
cancelled and awaited when the loop ends.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final, Protocol

from prompt_toolkit import PromptSession
from prompt_toolkit.application.current import get_app
from prompt_toolkit.history import FileHistory
from prompt_toolkit.patch_stdout import patch_stdout

from client.commands import MultilineInput, parse_line
from client.interface import CharacterEvent
from client.session import ChatSession
from runtime.private_dirs import make_private_dirs

HISTORY_FILE: Final = "chat_history"
PROMPT: Final = "> "
CONTINUATION_PROMPT: Final = "… "



class LineInput(Protocol):
    async def read(self, prompt: str) -> str:
        """The next line (without newline) after showing ``prompt``; ``EOFError`` at the
        end of input, ``KeyboardInterrupt`` for Ctrl+C at the prompt."""

    def redraw(self) -> None:
        """Redraw the prompt's toolbar after the state it shows changed."""


async def run_repl(session: ChatSession, events: AsyncIterator[CharacterEvent], *, tty: bool,
                   data_dir: Path) -> None:
    """Chat until ``/quit``, Ctrl+D or the end of input, showing ``events`` meanwhile.

    ``events`` must be subscribed before the session announces its character: opening the
    terminal input takes a while (prompt_toolkit, the history file), and an event published
    before the follower subscribed (a worker restarting right after "talking to …" was shown)
    would otherwise be lost."""
    source = await TerminalInput.open(session, data_dir) if tty else StdinInput()
    session.ask = source.read  # a /forget confirmation is the next line typed
    async with _following(session, events, source):
        await _loop(session, source)


async def _loop(session: ChatSession, source: LineInput) -> None:
    block = MultilineInput()
    while True:
        try:
            line = await source.read(CONTINUATION_PROMPT if block.open else PROMPT)
        except KeyboardInterrupt:
            block.abandon()  # Ctrl+C at the prompt drops the line, as a shell does
            continue
        except EOFError:
            return
        text = block.feed(line)
        if text is None:
            continue
        if not await session.handle(parse_line(text)):
            return


@asynccontextmanager
async def _following(session: ChatSession, events: AsyncIterator[CharacterEvent],
                     source: LineInput) -> AsyncIterator[None]:
    """Feed the character's events to the session while the loop runs; the follower task is
    owned here, cancelled and awaited on the way out (its failure is re-raised)."""

    async def follow() -> None:
        async for event in events:
            await session.on_event(event)
            source.redraw()

    task = asyncio.create_task(follow(), name="greenroom-chat-events")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.wait([task])
        failure = None if task.cancelled() else task.exception()
        if failure is not None:
            raise failure


class TerminalInput:
    """prompt_toolkit input with history in ``<data_dir>/chat_history`` and a live toolbar."""

    def __init__(self, prompt: PromptSession[str]) -> None:
        self._prompt = prompt

    @classmethod
    async def open(cls, session: ChatSession, data_dir: Path) -> TerminalInput:
        await asyncio.to_thread(make_private_dirs, data_dir)
        return cls(
            PromptSession(
                history=FileHistory(str(data_dir / HISTORY_FILE)),
                # Laid out afresh at every redraw, for the terminal's width then.
                bottom_toolbar=lambda: session.toolbar(get_app().output.get_size().columns),
            )
        )

    async def read(self, prompt: str) -> str:
        # stdout is patched only while the prompt is shown: events printed then appear above
        # it (raw=True keeps rich's colour codes), while a streamed reply, printed with no
        # prompt on screen, goes straight to the terminal without the proxy's batching delay.
        with patch_stdout(raw=True):
            line: str = await self._prompt.prompt_async(prompt)
        return line

    def redraw(self) -> None:
        self._prompt.app.invalidate()


class StdinInput:
    """Plain lines from stdin, no prompt, no editing: for pipes and scripts.

    The read runs in a worker thread (stdin may be a regular file, which asyncio cannot
    watch); the loop only reads again after handling a line, so no read is left pending.
    """

    async def read(self, prompt: str) -> str:
        line: str = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            raise EOFError
        return line.rstrip("\n")

    def redraw(self) -> None:
        """Nothing to redraw without a terminal."""
