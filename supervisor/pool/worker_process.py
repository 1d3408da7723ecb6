"""The supervisor's handle on one running worker process: its pipes, frames and exit.

A thin I/O shell. It owns three reader tasks (channel frames, stdout lines, stderr lines)
and knows the process's exit through the fork server's report (event-driven, no polling).
What the frames mean for the worker's lifecycle is decided by ``WorkerPool``; this class
only routes them: ``WorkerReply``/``WorkerEvent`` to the gateway, ``LogRecord`` and output
lines to the log sink, the rest to futures and callbacks the pool awaits.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Final

import structlog

from protocol.errors import ProtocolError
from protocol.frame_codec import encode_frame, from_worker_decoder
from protocol.pipe import (
    DebuggerStarted,
    Fatal,
    HeartbeatAck,
    LogRecord,
    Ready,
    ToWorker,
    WorkerEvent,
    WorkerProgress,
    WorkerReply,
)
from supervisor.pool.crash_report import CrashReport
from supervisor.pool.zygote_client import ZygoteError
from worker.spec import WorkerSpec

STDERR_TAIL_LINES: Final = 40
MAX_LINE_BYTES: Final = 64 * 1024
"""Longer output lines are logged in pieces marked ``continued``; a line is never lost."""

log = structlog.get_logger()

EmitRecord = Callable[[Mapping[str, Any]], None]
FrameCallback = Callable[[Any], None]


class WorkerProcess:
    """One started worker process (one generation of one character)."""

    def __init__(
        self,
        spec: WorkerSpec,
        pid: int,
        channel: socket.socket,
        stdout: socket.socket,
        stderr: socket.socket,
        exit_future: asyncio.Future[int],
        *,
        emit: EmitRecord,
        on_client_frame: FrameCallback,
        on_debugger: Callable[[int], None],
        on_ack: Callable[[int], None],
    ) -> None:
        self.spec = spec
        self.pid = pid
        self.started_at = time.monotonic()
        self.ready: asyncio.Future[Ready] = asyncio.get_running_loop().create_future()
        self.fatal: Fatal | None = None
        self.killed_because: str | None = None
        self.stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self._exit_future = exit_future
        self._emit = emit
        self._on_client_frame = on_client_frame
        self._on_debugger = on_debugger
        self._on_ack = on_ack
        self._channel = channel
        self._writer: asyncio.StreamWriter | None = None
        self._identity = {"process": "worker", "pid": pid, "character": spec.character_id,
                          "worker_generation": spec.generation}
        self._readers: list[asyncio.Task[None]] = []
        self._stdout = stdout
        self._stderr = stderr

    @property
    def character_id(self) -> str:
        return self.spec.character_id

    @property
    def generation(self) -> int:
        return self.spec.generation

    @property
    def is_ready(self) -> bool:
        return self.ready.done() and not self.ready.cancelled()

    @property
    def uptime_s(self) -> float:
        return time.monotonic() - self.started_at

    async def start_readers(self) -> None:
        """Begin reading the channel and the output pipes (the caller owns the process)."""
        reader, self._writer = await asyncio.open_unix_connection(sock=self._channel)
        loop = asyncio.get_running_loop()
        self._readers = [
            loop.create_task(self._read_frames(reader)),
            loop.create_task(self._read_lines(self._stdout, "stdout")),
            loop.create_task(self._read_lines(self._stderr, "stderr")),
        ]

    def send(self, frame: ToWorker) -> None:
        """Queue a frame; never blocks (asyncio buffers it)."""
        if self._writer is None or self._writer.is_closing():
            raise ConnectionError(f"worker {self.character_id!r} channel is closed")
        self._writer.write(encode_frame(frame))

    def kill(self, reason: str | None = None) -> None:
        """SIGKILL the process; ``reason`` goes into the crash report."""
        if reason is not None and self.killed_because is None:
            self.killed_because = reason
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    def terminate(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)

    async def wait_exit(self) -> int | None:
        """The exit code (negative: signal); ``None`` if the fork server died first."""
        try:
            return await asyncio.shield(self._exit_future)
        except ZygoteError:
            return None

    @property
    def exited(self) -> asyncio.Future[int]:
        return self._exit_future

    async def finish(self, timeout_s: float = 1.0) -> None:
        """After exit: let the readers drain what the process wrote before dying (bounded:
        a grandchild could hold a pipe open), then close everything."""
        if self._readers:
            _done, pending = await asyncio.wait(self._readers, timeout=timeout_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._readers, return_exceptions=True)
        if self._writer is not None:
            self._writer.close()
        for sock in (self._stdout, self._stderr):
            sock.close()

    def crash_report(self, exitcode: int | None) -> CrashReport:
        return CrashReport(
            character_id=self.character_id, pid=self.pid, generation=self.generation,
            exitcode=exitcode, uptime_s=self.uptime_s, stderr_tail=tuple(self.stderr_tail),
            error=self.fatal.error if self.fatal else None,
            traceback=self.fatal.traceback if self.fatal else None,
            killed_because=self.killed_because,
        )

    async def _read_frames(self, reader: asyncio.StreamReader) -> None:
        decoder = from_worker_decoder()
        try:
            while chunk := await reader.read(1 << 16):
                for frame in decoder.feed(chunk):
                    self._dispatch(frame)
            decoder.eof()
        except ProtocolError as exc:
            # No resynchronisation point in the stream: a corrupt channel ends the worker.
            log.error("worker_channel_corrupt", character=self.character_id, error=exc.message)
            self.kill(f"corrupt channel: {exc.message}")
        except ConnectionError:
            pass

    def _dispatch(self, frame: Any) -> None:
        match frame:
            case WorkerReply() | WorkerProgress() | WorkerEvent():
                self._on_client_frame(frame)
            case LogRecord(record=record):
                self._emit({**record, **self._identity})
            case HeartbeatAck(seq=seq):
                self._on_ack(seq)
            case Ready():
                if not self.ready.done():
                    self.ready.set_result(frame)
            case DebuggerStarted(port=port):
                self._on_debugger(port)
            case Fatal():
                self.fatal = frame

    async def _read_lines(self, sock: socket.socket, stream: str) -> None:
        reader, writer = await asyncio.open_unix_connection(sock=sock)
        pending = b""
        try:
            while chunk := await reader.read(1 << 16):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self._output_line(stream, line)
                while len(pending) > MAX_LINE_BYTES:
                    self._output_line(stream, pending[:MAX_LINE_BYTES], continued=True)
                    pending = pending[MAX_LINE_BYTES:]
            if pending:
                self._output_line(stream, pending)
        except ConnectionError:
            pass
        finally:
            writer.close()

    def _output_line(self, stream: str, raw: bytes, *, continued: bool = False) -> None:
        line = raw.decode("utf-8", "replace").rstrip("\r")
        if stream == "stderr":
            self.stderr_tail.append(line)
        record: dict[str, Any] = {
            "event": f"worker_{stream}", "level": "warning" if stream == "stderr" else "info",
            "line": line, **self._identity,
        }
        if continued:
            record["continued"] = True
        self._emit(record)
