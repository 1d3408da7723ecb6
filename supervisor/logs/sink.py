"""The one writer of every process's log records: ``data/logs/greenroom.jsonl`` + the console.

Workers never write the log file: their records arrive as ``LogRecord`` frames and their stray
stdout/stderr as lines, and the pool hands both to ``LogSink.emit``. The supervisor process's
own structlog and stdlib ``logging`` records reach the same ``emit`` through the shared chain
(``runtime.log_chain.route_records(sink.emit, …)``). One lock serialises
writes, and each record is written as one complete line with one ``write`` call, so lines
are never interleaved or cut, whatever the load or the thread.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

import structlog

from runtime.log_records import level_rank, ordered, to_json_line, with_defaults
from runtime.private_dirs import PRIVATE_FILE_MODE, make_private_dirs

ConsoleRender = Callable[[dict[str, Any]], str]

CHECK_INTERVAL_S = 0.1
"""How often, at most, the file's identity is checked: ``stat`` plus ``fstat`` cost ~5-6 µs
on the 2-core CI machine, against ~25 µs for a whole record, so checking every line would
add a fifth or more; checked this often it adds one ``monotonic()`` call (~0.1 µs). Lines
written within this of a removal go to the removed file."""


class RotatingJsonlFile:
    """Append-only JSON-lines file rotated by size: ``f`` → ``f.1`` → … → ``f.<backups>``.

    A line is never split across files: rotation happens *before* a line that would push the
    file past ``max_bytes``. With ``backups == 0`` the file is truncated instead. Each line is
    one unbuffered ``write`` on an ``O_APPEND`` descriptor; a write that fails part-way (disk
    full) is cut back off, so the file only ever holds whole lines, and the ``OSError`` is
    raised for the caller to count. Not thread-safe by itself; ``LogSink`` holds the lock.

    The file may be removed, moved (logrotate's ``create``) or truncated in place
    (``copytruncate``) under it: at most every ``check_interval_s`` (and before any rotation)
    the device and inode at ``path`` are compared with the open descriptor's, as
    ``logging.handlers.WatchedFileHandler`` does, and a file that is no longer at ``path`` is
    let go and ``path`` opened afresh (its directory recreated). A descriptor is closed exactly
    once — after its successor is open, or when none can be opened; then the descriptor is
    ``None`` and the next line tries again. A rotation only shifts backups up to the first
    free slot, so a rotation that fails half-way, and its retries, never overwrite a backup.

    The file holds the pdb debugger's one-time key: it is created 0o600 in directories created
    0o700, and an existing file (or backup) readable by others is narrowed to 0o600 when
    opened.
    """

    def __init__(self, path: Path, max_bytes: int, backups: int, *,
                 check_interval_s: float = CHECK_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self._max_bytes = max_bytes
        self._backups = backups
        self._check_interval_s = check_interval_s
        self._clock = clock
        self._fd: int | None = None
        self._size = 0
        self._next_check = clock() + check_interval_s
        self._reopen()
        for number in range(1, backups + 1):
            with contextlib.suppress(OSError):  # absent, or not ours to change
                _make_private(self._backup(number))

    def write_line(self, line: str) -> None:
        data = (line + "\n").encode("utf-8")
        fd = self._descriptor(recheck=False)
        if self._overflows(len(data)):
            # Moved away or truncated (copytruncate) since the last check: no rotation due.
            fd = self._descriptor(recheck=True)
            if self._overflows(len(data)):
                fd = self._rotate(fd)
        written = os.write(fd, data)
        if written != len(data):
            with contextlib.suppress(OSError):
                os.ftruncate(fd, os.fstat(fd).st_size - written)
            raise OSError(errno.ENOSPC, f"short write ({written} of {len(data)} bytes)")
        self._size += len(data)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def _overflows(self, length: int) -> bool:
        return self._size > 0 and self._size + length > self._max_bytes

    def _descriptor(self, *, recheck: bool) -> int:
        """The open descriptor of the file now at ``path`` (checked when due)."""
        if self._fd is None:
            return self._reopen()
        now = self._clock()
        if recheck or now >= self._next_check:
            self._next_check = now + self._check_interval_s
            if not self._still_at_path(self._fd):
                return self._reopen()
        return self._fd

    def _still_at_path(self, fd: int) -> bool:
        """Whether ``fd`` is the file at ``path``; refreshes the size (copytruncate)."""
        mine = os.fstat(fd)
        self._size = mine.st_size
        try:
            there = os.stat(self.path)
        except OSError:  # removed, or its directory is (ENOENT, ENOTDIR, EACCES)
            return False
        return (there.st_dev, there.st_ino) == (mine.st_dev, mine.st_ino)

    def _reopen(self) -> int:
        """Open ``path`` (creating it and its directory), then let the old descriptor go."""
        old, self._fd = self._fd, None
        try:
            make_private_dirs(self.path.parent)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                         PRIVATE_FILE_MODE)
        finally:
            if old is not None:
                with contextlib.suppress(OSError):
                    os.close(old)
        self._fd = fd
        self._size = os.fstat(fd).st_size
        with contextlib.suppress(OSError):  # another user's file: theirs to protect
            _make_private(fd)
        return fd

    def _rotate(self, fd: int) -> int:
        if self._backups == 0:
            os.ftruncate(fd, 0)
            self._size = 0
            return fd
        free = next((n for n in range(1, self._backups + 1) if not self._backup(n).exists()),
                    self._backups)
        for n in range(free - 1, 0, -1):
            os.replace(self._backup(n), self._backup(n + 1))
        with contextlib.suppress(FileNotFoundError):  # removed since the check: nothing to keep
            os.replace(self.path, self._backup(1))
        return self._reopen()

    def _backup(self, number: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{number}")


def _make_private(file: int | Path) -> None:
    """Narrow ``file`` (a descriptor or a path) to 0o600 if group or others may access it."""
    mode = os.stat(file).st_mode
    if mode & 0o077:
        os.chmod(file, PRIVATE_FILE_MODE)


def console_renderer(log_format: str | None, stream: TextIO) -> ConsoleRender:
    """Readable colours on a TTY (or ``console``), one JSON object per line for ``json``."""
    use_console = stream.isatty() if log_format is None else log_format == "console"
    if not use_console:
        return to_json_line
    pretty = structlog.dev.ConsoleRenderer(
        colors=stream.isatty(), timestamp_key="ts", sort_keys=False
    )

    def render(record: dict[str, Any]) -> str:
        return str(pretty(None, str(record.get("level", "info")), ordered(record)))

    return render


class LogSink:
    """Accepts records from any thread; filters by level; writes file and console.

    ``emit`` never raises for a bad record: unserialisable values are written as their
    ``repr``. The console stream may be ``None`` (tests, ``--quiet``).
    """

    def __init__(
        self,
        file: RotatingJsonlFile | None,
        console: TextIO | None,
        render: ConsoleRender,
        level: str = "info",
        *,
        defaults: Mapping[str, Any] | None = None,
    ) -> None:
        self._file = file
        self._console = console
        self._render = render
        self._min_rank = level_rank(level)
        self._defaults = dict(defaults or {})
        self._lock = threading.Lock()
        self._dropped = 0

    def emit(self, record: Mapping[str, Any]) -> None:
        """Write one record (completed with ``ts``/``level``/the sink's defaults)."""
        complete = with_defaults(record, **self._defaults)
        if level_rank(complete["level"]) < self._min_rank:
            return
        line = to_json_line(complete)
        shown = self._render(complete) if self._console is not None else ""
        with self._lock:
            if self._file is not None:
                self._write_file(line)
            if self._console is not None:
                self._console.write(shown + "\n")
                self._console.flush()

    def _write_file(self, line: str) -> None:
        """Write one line; a failing log file (disk full, read-only) must never stop the
        records' callers (workers' answers travel the same path). Lost lines are counted,
        said once on stderr, and reported in the file as soon as it can be written again."""
        assert self._file is not None
        try:
            if self._dropped:
                self._file.write_line(to_json_line(with_defaults(
                    {"event": "log_lines_dropped", "level": "warning", "count": self._dropped,
                     "path": str(self._file.path)}, **self._defaults)))
                self._dropped = 0
            self._file.write_line(line)
        except OSError as exc:
            if not self._dropped:
                fix = ("free disk space" if exc.errno == errno.ENOSPC else
                       f"make {self._file.path.parent} a writable directory")
                sys.stderr.write(
                    f"greenroom: cannot write the log file {self._file.path}: {exc}; "
                    f"dropping log lines until it can be written again ({fix})\n")
                sys.stderr.flush()
            self._dropped += 1

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def open_sink(
    log_file: Path | None,
    *,
    max_bytes: int,
    backups: int,
    level: str,
    log_format: str | None,
    console: TextIO | None = sys.stderr,
    process: str = "gateway",
) -> LogSink:
    """The sink of the supervisor process, its own records tagged ``process``/``pid``."""
    file = RotatingJsonlFile(log_file, max_bytes, backups) if log_file is not None else None
    render = console_renderer(log_format, console) if console is not None else to_json_line
    return LogSink(file, console, render, level, defaults={"process": process,
                                                            "pid": os.getpid()})
