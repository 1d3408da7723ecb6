"""What we know about a worker's death, kept for ``greenroom ps`` and written to the log.

Pure: built from values the shell collected (exit status, last stderr lines, a ``Fatal``
frame's traceback, the reason the supervisor killed it, if it did, and which of the files
its code came from have changed on disk since it was loaded).

A traceback prints each frame's source line as the file holds it *now*: after an edit, the
line shown may not be the line that ran. The report says so — in its summary, and on every
traceback frame of a changed file.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from supervisor.pool.restart_policy import Quarantine, Restart, RestartPolicy
from supervisor.pool.staleness import name_files

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

_FRAME_LINE: Final = re.compile(r'^(\s*File "(?P<path>[^"]+)", line \d+.*)$')
CHANGED_FRAME_NOTE: Final = ("  [changed on disk since this worker loaded it: the source line "
                             "shown is the file's current one]")


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
    code_root: str | None = None
    code_changed: Sequence[str] = field(default_factory=tuple)
    """Files (relative to ``code_root``) of the worker's code that changed on disk since its
    fork server loaded them."""

    @property
    def summary(self) -> str:
        """One line for ``ps``: cause, then the error if the worker told us one, then whether
        its code has changed on disk since."""
        cause = describe_exit(self.exitcode)
        if self.killed_because:
            cause = f"{cause} ({self.killed_because})"
        last = next((line for line in reversed(self.stderr_tail) if line.strip()), None)
        if self.error:
            text = f"{cause}: {self.error}"
        else:
            text = f"{cause}: {last.strip()}" if last else cause
        if self.code_changed:
            text += (f" [its code changed on disk since it was loaded: "
                     f"{name_files(self.code_changed)}]")
        return text

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
            "traceback": self._annotated(self.traceback),
            "stderr_tail": [self._annotated(line) for line in self.stderr_tail],
            "code_changed_on_disk": list(self.code_changed),
        }

    def _annotated(self, text: str | None) -> Any:
        if text is None or not self.code_changed or self.code_root is None:
            return text
        root = Path(self.code_root)
        changed = {str(root / name) for name in self.code_changed}

        def mark(line: str) -> str:
            match = _FRAME_LINE.match(line)
            if match is not None and match["path"] in changed:
                return line + CHANGED_FRAME_NOTE
            return line

        return "\n".join(mark(line) for line in text.split("\n"))


def decide_after_crash(policy: RestartPolicy, report: CrashReport, *, started_at: float,
                       now: float, character_id: str,
                       log: FilteringBoundLogger) -> Restart | Quarantine:
    """What ``policy`` does after the crash ``report`` describes, logged as operators read
    it (``worker_crashed`` with the decision; ``worker_quarantined`` with the fix): the one
    place both placements (fork server, Ray) apply the restart policy."""
    decision = policy.on_exit(now, started_at)
    if isinstance(decision, Quarantine):
        log.error("worker_crashed", **report.as_log_fields(), decision="quarantine",
                  reason=decision.reason)
        log.error("worker_quarantined", reason=decision.reason,
                  fix=f"fix the character, then `greenroom restart {character_id}`")
    else:
        log.error("worker_crashed", **report.as_log_fields(), decision="restart",
                  restart_in_ms=round(decision.delay_s * 1000, 1), attempt=decision.attempt)
    return decision
