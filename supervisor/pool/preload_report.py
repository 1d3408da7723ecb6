"""What a fork server says once it has loaded the code: what it holds, and what went wrong.

Built in the fork server, pickled to the supervisor in its ``hello``. A problem names the
place to fix first (``file:line``): the line of a syntax error, else the innermost frame of
the project's own code in the traceback (a failure inside a library is reported at the
project line that called it).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path

from supervisor.pool.code_fingerprint import PROJECT_ROOT, CodeFingerprint


@dataclass(frozen=True, slots=True)
class PreloadProblem:
    """One failure while loading or rehearsing the code.

    ``summary`` is one line: ``what: file:line: ErrorType: message`` (no location when none
    is known); ``traceback`` the formatted exception, when there was one."""

    summary: str
    location: str | None = None
    traceback: str | None = None

    @classmethod
    def from_exception(cls, what: str, error: BaseException,
                       root: Path = PROJECT_ROOT) -> PreloadProblem:
        location = error_location(error, root)
        message = f"{type(error).__name__}: {error}"
        summary = f"{what}: {location}: {message}" if location else f"{what}: {message}"
        text = "".join(traceback.format_exception(error))
        return cls(summary=summary, location=location, traceback=text)


@dataclass(frozen=True, slots=True)
class PreloadReport:
    """The fork server's account of its preload: the code it holds (``fingerprint``, taken
    before the imports), when it finished (``loaded_at``, seconds since the epoch) and the
    problems met (empty: the code imported and a rehearsed turn worked)."""

    fingerprint: CodeFingerprint
    loaded_at: float
    problems: tuple[PreloadProblem, ...] = ()


def error_location(error: BaseException, root: Path = PROJECT_ROOT) -> str | None:
    """``path:line`` to look at for ``error`` (path relative to ``root`` when inside it)."""
    if isinstance(error, SyntaxError) and error.filename and error.lineno:
        return f"{_shown(error.filename, root)}:{error.lineno}"
    frames = traceback.extract_tb(error.__traceback__)
    ours = [frame for frame in frames if _is_project_file(frame.filename, root)]
    candidates = ours or frames
    if not candidates or candidates[-1].lineno is None:
        return None
    frame = candidates[-1]
    return f"{_shown(frame.filename, root)}:{frame.lineno}"


def _is_project_file(filename: str, root: Path) -> bool:
    path = Path(filename)
    if not path.is_relative_to(root):
        return False
    return path.relative_to(root).parts[0] not in (".venv", "venv", ".tox")


def _shown(filename: str, root: Path) -> str:
    path = Path(filename)
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else filename
