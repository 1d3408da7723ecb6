"""What ``serve --reload`` watches: Python sources, character files and shared lorebooks."""

from __future__ import annotations

from pathlib import Path

from watchfiles import Change, DefaultFilter

from supervisor.commands.reload_watch import relevant, watched_paths


def test_character_files_shared_books_and_sources_are_watched_caches_are_not(
        tmp_path: Path) -> None:
    default = DefaultFilter()
    characters = tmp_path / "characters"
    (characters / "lorebooks").mkdir(parents=True)
    assert characters in watched_paths(characters, root=tmp_path)  # watched with its subfolders
    seen = {path: relevant(Change.modified, str(path), default=default) for path in (
        characters / "zen-master.yaml", characters / "lorebooks" / "river.yaml",
        tmp_path / "worker" / "engine" / "mood.py",
        tmp_path / "worker" / "__pycache__" / "mood.cpython-311.pyc",
        characters / ".zen-master.yaml.swp")}
    assert [path.name for path, watched in seen.items() if watched] == [
        "zen-master.yaml", "river.yaml", "mood.py"]
