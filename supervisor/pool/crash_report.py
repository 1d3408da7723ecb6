"""What we know about a worker's death, kept for ``greenroom ps`` and written to the log.

Pure: built from values the shell collected (exit status, last stderr lines, a ``Fatal``
frame's traceback, the reason the supervisor killed it, if it did).
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


def describe_exit(exitcode: int | None) -> str:
    """``exit code 3`` / ``killed by SIGKILL`` / ``exit status unknown``.

    ``exitcode`` follows ``multiprocessing``: negative means killed by that signal.
    """
    if exitcode is None:
        return "exit status unknown"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"killed by {name}"
    return f"exit code {exitcode}"


@dataclass(frozen=True, slots=True)
class CrashReport:
    """One abnormal end of one worker process.

    ``killed_because`` is set when the supervisor itself killed the worker (silence,
    memory, failed handshake); ``error``/``traceback`` come from the worker's ``Fatal`` frame.
    """

    character_id: str
    pid: int | None
    generation: int
    exitcode: int | None
    uptime_s: float
    stderr_tail: Sequence[str] = field(default_factory=tuple)
    error: str | None = None
    traceback: str | None = None
    killed_because: str | None = None

    @property
    def summary(self) -> str:
        """One line for ``ps``: cause, then the error if the worker told us one."""
        cause = describe_exit(self.exitcode)
        if self.killed_because:
            cause = f"{cause} ({self.killed_because})"
        if self.error:
            return f"{cause}: {self.error}"
        last = next((line for line in reversed(self.stderr_tail) if line.strip()), None)
        return f"{cause}: {last.strip()}" if last else cause

    def as_log_fields(self) -> dict[str, Any]:
        """Fields of the ``worker_crashed`` log record (JSON-safe)."""
        return {
            "character": self.character_id,
            "worker_pid": self.pid,
            "worker_generation": self.generation,
            "exit": describe_exit(self.exitcode),
            "exitcode": self.exitcode,
            "uptime_s": round(self.uptime_s, 3),
            "killed_because": self.killed_because,
            "error": self.error,
            "traceback": self.traceback,
            "stderr_tail": list(self.stderr_tail),
        }
