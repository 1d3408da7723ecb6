"""``greenroom logs`` pieces: the record filter, line parsing, following across rotation."""

from __future__ import annotations

import threading
from pathlib import Path

from supervisor.commands.logs import read_lines
from supervisor.logs.record_filter import RecordFilter, parse_line


def test_level_is_a_minimum() -> None:
    keep = RecordFilter(level="warning")
    assert keep.keeps({"level": "error"}) and not keep.keeps({"level": "info"})


def test_event_with_a_star_matches_a_prefix() -> None:
    keep = RecordFilter(event="worker_*")
    assert keep.keeps({"event": "worker_crashed"}) and not keep.keeps({"event": "turn"})


def test_character_must_match_exactly() -> None:
    keep = RecordFilter(character="zen-master")
    assert keep.keeps({"character": "zen-master"}) and not keep.keeps({"event": "x"})


def test_foreign_lines_are_skipped_not_fatal() -> None:
    assert parse_line("not json") is None and parse_line("[1]") is None


def test_reading_without_follow_returns_complete_lines(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    path.write_text('{"a":1}\n{"b":2}\n{"partial"')
    assert list(read_lines(path, follow=False)) == ['{"a":1}', '{"b":2}']


def test_follow_continues_into_the_new_file_after_rotation(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    path.write_text("one\n")
    lines = read_lines(path, follow=True)
    assert next(lines) == "one"
    rotated = threading.Event()

    def rotate() -> None:
        with open(path, "a") as f:
            f.write("two\n")
        path.rename(tmp_path / "g.jsonl.1")
        path.write_text("three\n")
        rotated.set()

    threading.Thread(target=rotate).start()
    assert next(lines) == "two"
    assert next(lines) == "three"
    assert rotated.is_set()
