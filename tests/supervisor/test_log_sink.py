"""The log sink: one complete JSON line per record, rotation by size, level filtering."""

from __future__ import annotations

import errno
import io
import json
import logging
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from runtime.log_chain import route_records
from runtime.log_records import json_safe, to_json_line, with_defaults
from supervisor.logs.sink import CHECK_INTERVAL_S, LogSink, RotatingJsonlFile, console_renderer


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


@pytest.fixture
def routed_sink(tmp_path: Path) -> Iterator[Path]:
    """This process's records routed into a sink writing the returned file, as ``serve`` does;
    structlog and the root logger restored afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    sink, path = make_sink(tmp_path)
    route_records(sink.emit, level="info")
    yield path
    structlog.reset_defaults()
    root.handlers[:], root.level = handlers, level
    sink.close()


def test_a_stdlib_record_is_one_line_with_the_bound_context_of_a_structlog_one(
        routed_sink: Path) -> None:
    with structlog.contextvars.bound_contextvars(session="s-1", message_id="m-1"):
        structlog.get_logger().warning("handshake_failed", peer=object)
        logging.getLogger("websockets").warning("opening handshake failed")
    ours, theirs = read_lines(routed_sink)
    assert theirs.keys() == ours.keys() - {"peer"} | {"logger"}
    assert (theirs["session"], theirs["message_id"], theirs["process"]) == (
        "s-1", "m-1", "gateway")
    first = ["ts", "level", "event", "process", "pid", "session", "message_id"]
    assert list(ours)[:7] == list(theirs)[:7] == first
    assert ours["peer"] == repr(object)


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


class Clock:
    """A hand-moved monotonic clock for the file-identity check."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def after_the_check_interval(self) -> None:
        self.now += CHECK_INTERVAL_S


def watched_sink(tmp_path: Path, clock: Clock, *, max_bytes: int = 1 << 20,
                 backups: int = 2) -> tuple[LogSink, Path]:
    path = tmp_path / "logs" / "greenroom.jsonl"
    file = RotatingJsonlFile(path, max_bytes, backups, clock=clock)
    return LogSink(file, None, to_json_line, "info"), path


def events_in(path: Path) -> list[object]:
    return [r["event"] for r in read_lines(path)]


def test_a_removed_file_is_recreated_at_the_next_check(tmp_path: Path) -> None:
    clock = Clock()
    sink, path = watched_sink(tmp_path, clock)
    sink.emit({"event": "before"})
    path.unlink()
    clock.after_the_check_interval()
    sink.emit({"event": "after"})
    assert events_in(path) == ["after"]


def test_a_moved_file_keeps_its_lines_and_the_path_gets_the_new_ones(tmp_path: Path) -> None:
    clock = Clock()
    sink, path = watched_sink(tmp_path, clock)
    sink.emit({"event": "before"})
    moved = path.with_name("greenroom.jsonl-20261201")
    path.rename(moved)  # logrotate's `create`: move, then create an empty file
    path.touch()
    clock.after_the_check_interval()
    sink.emit({"event": "after"})
    assert events_in(moved) == ["before"]
    assert events_in(path) == ["after"]


def test_the_identity_is_checked_at_most_once_per_interval(tmp_path: Path) -> None:
    clock = Clock()
    sink, path = watched_sink(tmp_path, clock)
    moved = path.with_name("moved.jsonl")
    path.rename(moved)
    sink.emit({"event": "within the interval"})
    clock.after_the_check_interval()
    sink.emit({"event": "after it"})
    assert events_in(moved) == ["within the interval"]
    assert events_in(path) == ["after it"]


def test_a_removed_log_directory_is_recreated(tmp_path: Path) -> None:
    clock = Clock()
    sink, path = watched_sink(tmp_path, clock)
    sink.emit({"event": "before"})
    shutil.rmtree(path.parent)
    clock.after_the_check_interval()
    sink.emit({"event": "after"})
    assert events_in(path) == ["after"]


def fill_backups(sink: LogSink, path: Path, backups: int) -> dict[str, list[object]]:
    """Emit padded records until every backup exists; what each file holds."""
    index = 0
    while not path.with_name(f"{path.name}.{backups}").exists():
        sink.emit({"event": f"e{index}", "pad": "y" * 100})
        index += 1
    return {p.name: events_in(p) for p in path.parent.iterdir()}


def test_a_rotation_after_removal_keeps_every_backup_and_recreates_the_file(
    tmp_path: Path,
) -> None:
    sink, path = watched_sink(tmp_path, Clock(), max_bytes=1000, backups=2)
    before = fill_backups(sink, path, 2)
    path.unlink()
    for index in range(50):  # the clock stands still: the rotation due notices the removal
        sink.emit({"event": f"late{index}", "pad": "y" * 100})
        if path.exists():
            break
    assert path.exists(), "the removed file was never recreated"
    assert len(events_in(path)) == 1
    assert {n: events_in(path.parent / n) for n in before if n != path.name} == {
        n: e for n, e in before.items() if n != path.name}


def test_a_rotation_after_removal_never_closes_another_files_descriptor(
    tmp_path: Path,
) -> None:
    sink, path = watched_sink(tmp_path, Clock(), max_bytes=1000, backups=2)
    fill_backups(sink, path, 2)
    path.unlink()
    sink.emit({"event": "rotates", "pad": "y" * 1000})
    with (tmp_path / "bystander").open("wb") as bystander:  # may reuse a closed number
        for index in range(5):
            sink.emit({"event": f"later{index}", "pad": "y" * 1000})
        os.fstat(bystander.fileno())  # raises EBADF if the sink closed it
    sink.close()


def test_a_rotation_that_fails_never_destroys_a_backup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink, path = watched_sink(tmp_path, Clock(), max_bytes=1000, backups=3)
    before = fill_backups(sink, path, 3)
    oldest = before.pop(f"{path.name}.3")  # the one backup that the rotation due discards
    kept_before = {e for events in before.values() for e in events}
    real_replace = os.replace

    def refuse_the_live_file(src: str | Path, dst: str | Path) -> None:
        if Path(src) == path:
            raise PermissionError(errno.EPERM, "Operation not permitted", str(src))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", refuse_the_live_file)
    for index in range(10):
        sink.emit({"event": f"refused{index}", "pad": "y" * 100})
    monkeypatch.setattr(os, "replace", real_replace)
    sink.emit({"event": "rotates again", "pad": "y" * 100})
    kept = {e for p in path.parent.iterdir() for e in events_in(p)}
    assert kept_before <= kept
    assert not set(oldest) & kept
    assert "rotates again" in events_in(path)


def test_a_copytruncated_file_is_not_rotated_early(tmp_path: Path) -> None:
    sink, path = watched_sink(tmp_path, Clock(), max_bytes=1000, backups=2)
    sink.emit({"event": "e0", "pad": "y" * 100})
    length = path.stat().st_size
    while path.stat().st_size + length <= 1000:  # full: the next line would rotate
        sink.emit({"event": "e1", "pad": "y" * 100})
    os.truncate(path, 0)  # logrotate's `copytruncate`, between two checks
    sink.emit({"event": "after", "pad": "y" * 100})
    assert events_in(path) == ["after"]
    assert not path.with_name(f"{path.name}.1").exists()


def test_a_failed_write_after_copytruncate_leaves_no_padding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink, path = watched_sink(tmp_path, Clock())
    for index in range(5):
        sink.emit({"event": f"e{index}"})
    os.truncate(path, 0)
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, data[: len(data) // 2]))
    sink.emit({"event": "cut"})
    monkeypatch.setattr(os, "write", real_write)
    assert b"\0" not in path.read_bytes()
    assert path.read_bytes() == b""


def test_an_unwritable_log_directory_drops_lines_and_recovers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    sink, path = watched_sink(tmp_path, clock)
    shutil.rmtree(path.parent)
    path.parent.write_text("a file where the directory was")
    clock.after_the_check_interval()
    sink.emit({"event": "lost"})
    sink.emit({"event": "lost too"})
    path.parent.unlink()
    sink.emit({"event": "back"})
    assert [(r["event"], r.get("count")) for r in read_lines(path)] == [
        ("log_lines_dropped", 2), ("back", None)]
    err = capsys.readouterr().err
    assert err.count(f"cannot write the log file {path}") == 1
    assert f"make {path.parent} a writable directory" in err


def test_closing_twice_closes_the_descriptor_once(tmp_path: Path) -> None:
    file = RotatingJsonlFile(tmp_path / "x.jsonl", 1000, 1)
    file.close()
    with (tmp_path / "bystander").open("wb") as bystander:
        file.close()
        os.fstat(bystander.fileno())


def mode_of(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_the_log_is_created_owner_only_in_owner_only_directories(tmp_path: Path) -> None:
    """The log holds the pdb debugger's one-time key; it used to be 0o644 in a 0o755 tree."""
    path = tmp_path / "data" / "logs" / "greenroom.jsonl"
    old_umask = os.umask(0o022)
    try:
        file = RotatingJsonlFile(path, 1 << 20, 2)
    finally:
        os.umask(old_umask)
    file.write_line("{}")
    file.close()
    assert (mode_of(path), mode_of(path.parent), mode_of(path.parent.parent)) == (
        0o600, 0o700, 0o700)


def test_an_existing_log_and_its_backups_readable_by_others_are_narrowed_at_open(
    tmp_path: Path,
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir(mode=0o755)
    path = logs / "greenroom.jsonl"
    backup = logs / "greenroom.jsonl.1"
    for existing in (path, backup):
        existing.write_text("{}\n")
        existing.chmod(0o644)
    RotatingJsonlFile(path, 1 << 20, 2).close()
    assert (mode_of(path), mode_of(backup)) == (0o600, 0o600)
    assert mode_of(logs) == 0o755  # a directory that existed is left as it is


def test_a_log_recreated_after_removal_is_owner_only(tmp_path: Path) -> None:
    file = RotatingJsonlFile(tmp_path / "logs" / "greenroom.jsonl", 1 << 20, 2,
                             check_interval_s=0)
    shutil.rmtree(tmp_path / "logs")
    file.write_line("{}")
    file.close()
    assert mode_of(tmp_path / "logs" / "greenroom.jsonl") == 0o600
    assert mode_of(tmp_path / "logs") == 0o700
