"""What code a fork server loaded, and whether the files on disk still hold it.

A fork server stamps the source files of the worker's code *before* it imports them
(``CodeFingerprint.take``): every ``.py`` file of the packages a worker runs (``runtime``,
``protocol``, ``schemas``, ``worker`` — also the modules a worker imports only after the fork,
such as a backend it was configured with) plus the project modules the fork server itself
imported. Stamping first errs on the safe side: a file saved while the imports run is
stamped with its older content, so it shows as changed later (one reload too many), never
as current while the process holds the older code.

A stamp is (mtime, size, SHA-256). ``changed`` stats every file (~150 ``stat`` calls, a
fraction of a millisecond) and hashes only those whose mtime or size moved, so a file that
was touched, or edited and reverted, counts as unchanged: what matters is the content the
process runs. New files count only through the file that imports them, which changes too.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

PROJECT_ROOT: Final = Path(__file__).resolve().parents[2]
"""The checkout (or copy) this code runs from: the directory holding the packages."""

WORKER_PACKAGES: Final = ("runtime", "protocol", "schemas", "worker")
"""The packages whose code runs in a worker process."""

PROJECT_PACKAGES: Final = (*WORKER_PACKAGES, "supervisor", "client")


@dataclass(frozen=True, slots=True)
class FileStamp:
    """One file's content as seen at one moment."""

    mtime_ns: int
    size: int
    sha256: str


def stamp_file(path: Path) -> FileStamp | None:
    """The file's stamp; ``None`` when it does not exist or cannot be read."""
    try:
        with path.open("rb") as file:
            status = os.fstat(file.fileno())
            digest = hashlib.sha256(file.read()).hexdigest()
    except OSError:
        return None
    return FileStamp(status.st_mtime_ns, status.st_size, digest)


def same_content(path: Path, stamp: FileStamp | None) -> bool:
    """Whether ``path`` still holds what ``stamp`` saw (both missing counts as the same)."""
    try:
        status = path.stat()
    except OSError:
        return stamp is None
    if stamp is None:
        return False
    if status.st_mtime_ns == stamp.mtime_ns and status.st_size == stamp.size:
        return True
    now = stamp_file(path)
    return now is not None and now.sha256 == stamp.sha256


def module_files(modules: Mapping[str, object], root: Path = PROJECT_ROOT) -> list[Path]:
    """The source files under ``root`` of those modules that belong to the project."""
    files = []
    for name, module in list(modules.items()):
        if name.partition(".")[0] not in PROJECT_PACKAGES:
            continue
        source = getattr(module, "__file__", None)
        if source and source.endswith(".py") and Path(source).is_relative_to(root):
            files.append(Path(source))
    return files


@dataclass(frozen=True, slots=True)
class CodeFingerprint:
    """Stamps of the source files one process loaded, by path relative to ``root``."""

    root: str
    files: Mapping[str, FileStamp | None]

    @classmethod
    def take(cls, root: Path = PROJECT_ROOT, packages: Iterable[str] = WORKER_PACKAGES,
             extra: Iterable[Path] = ()) -> CodeFingerprint:
        """Stamp every ``.py`` file of ``packages`` under ``root``, and ``extra`` files."""
        paths = [path for package in packages for path in sorted((root / package).rglob("*.py"))
                 if "__pycache__" not in path.parts]
        return cls(str(root), {}).including([*paths, *extra])

    def including(self, paths: Iterable[Path]) -> CodeFingerprint:
        """This fingerprint plus stamps of ``paths`` it does not hold yet."""
        root = Path(self.root)
        files = dict(self.files)
        for path in paths:
            key = path.relative_to(root).as_posix()
            if key not in files:
                files[key] = stamp_file(path)
        return CodeFingerprint(self.root, files)

    def changed(self) -> tuple[str, ...]:
        """The files (relative paths, sorted) whose content on disk is not what was
        stamped: edited, replaced or removed."""
        root = Path(self.root)
        return tuple(sorted(key for key, stamp in self.files.items()
                            if not same_content(root / key, stamp)))

    def disk_state(self, keys: Iterable[str]) -> tuple[tuple[str, FileStamp | None], ...]:
        """The current stamps of ``keys``: equal for two calls exactly when none of those
        files changed in between."""
        root = Path(self.root)
        return tuple((key, stamp_file(root / key)) for key in sorted(keys))
