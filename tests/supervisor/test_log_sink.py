"""The log sink: one complete JSON line per record, rotation by size, level filtering."""

from __future__ import annotations

import io
import json
import os
import threading
from pathlib import Path

import pytest

from supervisor.log_records import json_safe, to_json_line, with_defaults
from supervisor.log_sink import LogSink, RotatingJsonlFile, console_renderer


def read_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def make_sink(tmp_path: Path, *, max_bytes: int = 1 << 20, backups: int = 2,
              level: str = "info") -> tuple[LogSink, Path]:
    path = tmp_path / "logs" / "greenroom.jsonl"
    sink = LogSink(RotatingJsonlFile(path, max_bytes, backups), None, to_json_line, level,
                   defaults={"process": "gateway", "pid": 123})
    return sink, path


def test_every_record_gets_ts_level_process_and_pid(tmp_path: Path) -> None:
    sink, path = make_sink(tmp_path)
    sink.emit({"event": "hello"})
    (record,) = read_lines(path)
    assert {"ts", "level", "event", "process", "pid"} <= record.keys()
    assert record["process"] == "gateway" and record["pid"] == 123


def test_a_workers_own_process_and_pid_win_over_the_sink_defaults(tmp_path: Path) -> None:
    sink, path = make_sink(tmp_path)
    sink.emit({"event": "x", "process": "worker", "pid": 9, "character": "zen"})
    (record,) = read_lines(path)
    assert (record["process"], record["pid"], record["character"]) == ("worker", 9, "zen")


def test_records_below_the_level_are_dropped(tmp_path: Path) -> None:
    sink, path = make_sink(tmp_path, level="warning")
    sink.emit({"event": "chatty", "level": "info"})
    sink.emit({"event": "bad", "level": "error"})
    assert [r["event"] for r in read_lines(path)] == ["bad"]


def test_concurrent_writers_never_interleave_or_cut_lines(tmp_path: Path) -> None:
    sink, path = make_sink(tmp_path, max_bytes=200_000, backups=50)
    payload = "x" * 3000

    def write(thread: int) -> None:
        for i in range(200):
            sink.emit({"event": "load", "thread": thread, "i": i, "payload": payload})

    threads = [threading.Thread(target=write, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    files = sorted(path.parent.glob("greenroom.jsonl*"))
    records = [r for f in files for r in read_lines(f)]
    assert len(records) == 8 * 200
    assert all(r["payload"] == payload for r in records)


def test_rotation_keeps_the_configured_number_of_backups(tmp_path: Path) -> None:
    sink, path = make_sink(tmp_path, max_bytes=1000, backups=2)
    for i in range(100):
        sink.emit({"event": "e", "i": i, "pad": "y" * 100})
    names = sorted(p.name for p in path.parent.iterdir())
    assert names == ["greenroom.jsonl", "greenroom.jsonl.1", "greenroom.jsonl.2"]
    assert all(p.stat().st_size <= 1000 for p in path.parent.iterdir())
    assert read_lines(path)[-1]["i"] == 99


def test_unserialisable_values_are_written_as_their_repr(tmp_path: Path) -> None:
    sink, path = make_sink(tmp_path)
    sink.emit({"event": "odd", "obj": object, "big": 2**70, "nested": {1: {2, }}})
    (record,) = read_lines(path)
    assert record["obj"] == repr(object)
    assert record["big"] == str(2**70)
    assert record["nested"] == {"1": [2]}


def test_json_lines_put_the_key_fields_first() -> None:
    line = to_json_line(with_defaults({"zzz": 1, "event": "e", "character": "zen"},
                                      process="worker", pid=5))
    assert list(json.loads(line))[:6] == ["ts", "level", "event", "process", "pid", "character"]


def test_json_safe_cuts_deep_nesting() -> None:
    deep: list[object] = []
    cursor = deep
    for _ in range(50):
        nxt: list[object] = []
        cursor.append(nxt)
        cursor = nxt
    assert isinstance(json.dumps(json_safe(deep)), str)


def test_console_renders_json_when_asked_even_on_a_tty() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    render = console_renderer("json", Tty())
    assert json.loads(render(with_defaults({"event": "e"})))["event"] == "e"


def test_console_is_human_readable_when_asked() -> None:
    render = console_renderer("console", io.StringIO())
    text = render(with_defaults({"event": "worker_ready", "character": "zen"}))
    assert "worker_ready" in text and "character=zen" in text


def test_a_full_disk_drops_lines_without_raising_and_says_so_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    full = RotatingJsonlFile(Path("/dev/full"), 1 << 20, 0)  # every write fails with ENOSPC
    sink = LogSink(full, None, to_json_line, "info")
    for index in range(3):
        sink.emit({"event": "turn_committed", "index": index})
    err = capsys.readouterr().err
    assert err.count("cannot write the log file /dev/full") == 1
    assert "free disk space" in err


def test_after_a_failed_write_the_file_holds_whole_lines_and_reports_the_loss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink, path = make_sink(tmp_path)
    sink.emit({"event": "before"})
    real_write = os.write

    def short_write(fd: int, data: bytes) -> int:
        return real_write(fd, data[: len(data) // 2])  # a disk that fills mid-line

    monkeypatch.setattr(os, "write", short_write)
    sink.emit({"event": "lost"})
    monkeypatch.setattr(os, "write", real_write)
    sink.emit({"event": "after"})
    events = [(r["event"], r.get("count")) for r in read_lines(path)]
    assert events == [("before", None), ("log_lines_dropped", 1), ("after", None)]
