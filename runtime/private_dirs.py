"""Directories only their owner may read: greenroom's data holds conversations, and its log
holds the pdb debugger's one-time key."""

from __future__ import annotations

from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def make_private_dirs(path: Path) -> None:
    """Create ``path`` and every missing parent with mode 0o700 (``Path.mkdir(parents=True)``
    gives the parents the default mode). Directories that exist are left as they are."""
    missing: list[Path] = []
    while not path.exists():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
