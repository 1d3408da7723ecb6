"""How greenroom says that a worker runs something older than what is on disk.

Pure: the changed files and the problems are found by the shell (``code_fingerprint``,
``fork_servers``, a character file check); these functions only word them, the same way for
``greenroom ps``, the log, a restart's answer and a crash report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

FILES_NAMED: Final = 3
"""How many changed files a note names before ``(+N more)``."""


def name_files(files: Sequence[str]) -> str:
    """``a.py, b.py, c.py (+2 more)``."""
    named = ", ".join(files[:FILES_NAMED])
    more = len(files) - FILES_NAMED
    return f"{named} (+{more} more)" if more > 0 else named


def stale_code(files: Sequence[str], generation: int, problem: str | None) -> str | None:
    """Why code of ``generation`` is older than the disk, or ``None`` (no changed file).

    ``problem``: why newer code did not replace it (the new code's first failure), or
    ``None`` when no reload has been tried yet."""
    if not files:
        return None
    text = f"code generation {generation} is stale: {name_files(files)} changed on disk"
    if problem is not None:
        return f"{text}; the new code failed: {problem}"
    return f"{text}; not reloaded yet (`greenroom reload`)"


def stale_character(changed: bool, problem: str | None) -> str | None:
    """Why the character file the worker loaded is not the one on disk, or ``None``."""
    if not changed:
        return None
    if problem is not None:
        return f"character file changed on disk and not reloaded: {problem}"
    return "character file changed on disk; not reloaded yet (`greenroom reload`)"


def join_notes(*notes: str | None) -> str | None:
    """The notes that are set, joined with ``"; "``; ``None`` when none is."""
    present = [note for note in notes if note]
    return "; ".join(present) if present else None
