"""Directories greenroom creates for its data are owner-only, parents included."""

from __future__ import annotations

import os
from pathlib import Path

from runtime.private_dirs import make_private_dirs
from worker.engine.database import connect, database_path


def mode_of(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_every_missing_directory_is_created_owner_only_and_existing_ones_are_kept(
    tmp_path: Path,
) -> None:
    existing = tmp_path / "existing"
    existing.mkdir(mode=0o755)
    old_umask = os.umask(0o022)
    try:
        make_private_dirs(existing / "data" / "logs")
    finally:
        os.umask(old_umask)
    assert [mode_of(p) for p in (existing, existing / "data", existing / "data" / "logs")] == [
        0o755, 0o700, 0o700]


def test_a_character_database_in_a_new_data_dir_makes_the_data_dir_owner_only(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    connect(database_path(data_dir, "zen")).close()
    assert mode_of(data_dir) == 0o700
    assert mode_of(data_dir / "characters" / "zen") == 0o700
