"""A throwaway copy of the project's code, for tests that edit it while greenroom runs.

A supervisor started with ``PYTHONPATH`` at the copy (``ServerConfig(env=copy.env())``)
imports every package from it — ``PYTHONPATH`` comes before the editable install's finder —
and so does its fork server (``code_fingerprint.PROJECT_ROOT`` is the copy's). Editing a file
of the copy then changes what a reload loads, and never touches the checkout.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from supervisor.pool.code_fingerprint import PROJECT_PACKAGES
from tests.support.paths import REPO_ROOT

SCRIPTED_BACKEND = "worker/backends/scripted.py"
REPLY_LINE = "        words = _WORD_RE.findall(reply)\n"
"""The line of the scripted backend that splits the reply into streamed words."""


@dataclass(frozen=True)
class ProjectCopy:
    root: Path

    def env(self) -> dict[str, str]:
        return {"PYTHONPATH": str(self.root)}

    def path(self, relative: str) -> Path:
        return self.root / relative

    def replace(self, relative: str, old: str, new: str) -> None:
        """Replace the one occurrence of ``old`` in that file."""
        path = self.path(relative)
        text = path.read_text()
        assert text.count(old) == 1, f"{relative} holds {old!r} {text.count(old)} times"
        path.write_text(text.replace(old, new))

    def prefix_replies(self, prefix: str) -> None:
        """Make the scripted backend start every reply with ``prefix``."""
        self.replace(SCRIPTED_BACKEND, REPLY_LINE,
                     f"        words = _WORD_RE.findall({prefix!r} + ' ' + reply)\n")

    def break_syntax(self, relative: str = SCRIPTED_BACKEND) -> int:
        """Append a line that does not parse; returns its line number."""
        path = self.path(relative)
        text = path.read_text()
        path.write_text(text + "def broken(:\n")
        return text.count("\n") + 1


def copy_project(dest: Path) -> ProjectCopy:
    """Copy the project's packages (no caches) into ``dest``."""
    for package in PROJECT_PACKAGES:
        shutil.copytree(REPO_ROOT / package, dest / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return ProjectCopy(dest)
