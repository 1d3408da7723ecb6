"""``TerminalScreen``: a ``greenroom`` command in a real pty, its output read by a terminal
emulator (pyte), so a test sees the screen a person would — rows of cells after every
cursor movement, wrap and redraw — not the byte stream.

pexpect runs the child in a pty of the given size; every chunk it writes is fed to a
``pyte.Screen`` of the same size. ``until`` waits, event-driven, for the screen to satisfy a
predicate: it re-checks after each chunk and fails with the screen as it stands on timeout.
pexpect blocks, so reads run in a thread and the event loop keeps serving the server (or
a fake LLM) meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pexpect
import pyte

from tests.support.cli_process import clean_env, greenroom_argv
from tests.support.paths import REPO_ROOT

WAIT_S = 30.0


class _AnsweringScreen(pyte.Screen):  # type: ignore[misc]
    """A pyte screen whose answers to the program (cursor position reports) reach it."""

    answer: Callable[[str], object] | None = None

    def write_process_input(self, data: str) -> None:
        if self.answer is not None:
            self.answer(data)


class TerminalScreen:
    """One command on a ``columns`` × ``lines`` terminal. Close it with ``close``."""

    def __init__(self, args: list[str], *, data_dir: Path, columns: int, lines: int) -> None:
        argv = greenroom_argv(*args)
        self.columns, self.lines = columns, lines
        self.screen = _AnsweringScreen(columns, lines)
        self._stream = pyte.Stream(self.screen)
        # The emulator answers cursor-position requests, as a terminal does: prompt_toolkit
        # draws its bottom toolbar only once it knows where the cursor is.
        env = clean_env(data_dir)
        env.pop("PROMPT_TOOLKIT_NO_CPR", None)
        self.child = pexpect.spawn(argv[0], argv[1:], env=env, cwd=str(REPO_ROOT),
                                   encoding="utf-8", dimensions=(lines, columns),
                                   timeout=WAIT_S)
        self.screen.answer = self.child.send

    @property
    def rows(self) -> list[str]:
        """The screen's rows, trailing blanks removed."""
        return [row.rstrip() for row in self.screen.display]

    def text(self) -> str:
        return "\n".join(self.rows)

    def _read(self, deadline: float) -> bool:
        """Feed what the child wrote next to the emulator; ``False`` at its end."""
        try:
            left = max(0.0, deadline - time.monotonic())
            chunk = self.child.read_nonblocking(65536, timeout=left)
        except pexpect.TIMEOUT:
            return True
        except pexpect.EOF:
            return False
        self._stream.feed(chunk)
        return True

    async def until(self, predicate: Callable[[list[str]], bool], what: str,
                    timeout_s: float = WAIT_S) -> list[str]:
        """The rows once ``predicate(rows)`` holds; ``AssertionError`` with the screen when
        it does not within ``timeout_s`` or the command ended."""
        deadline = time.monotonic() + timeout_s
        while not predicate(self.rows):
            if time.monotonic() >= deadline or not await asyncio.to_thread(self._read, deadline):
                raise AssertionError(f"{what}: not on the {self.columns}×{self.lines} screen:\n"
                                     + self.text())
        return self.rows

    async def shows(self, text: str, timeout_s: float = WAIT_S) -> list[str]:
        """The rows once some row contains ``text``."""
        return await self.until(lambda rows: any(text in row for row in rows), repr(text),
                                timeout_s)

    def send(self, line: str) -> None:
        self.child.sendline(line)

    async def quit(self) -> int:
        """``/quit``, then the exit status."""
        self.child.sendline("/quit")
        await asyncio.to_thread(self.child.expect, pexpect.EOF, timeout=WAIT_S)
        self.child.close()
        status: int = self.child.exitstatus
        return status

    def close(self) -> None:
        self.child.close(force=True)
