"""A worker process: one character's engine behind its channel (fd 3).

Started by the fork server (``supervisor.pool.zygote``), which calls ``run_worker_process`` in a
fresh fork. The process:

* puts its channel on fd 3, ``/dev/null`` on stdin, the supervisor's pipes on stdout/stderr
  (captured and logged, never the protocol);
* dies with its parent (``PR_SET_PDEATHSIG`` + ``getppid`` re-check) and exits on channel EOF
  — watched by a thread (``worker.hangup_watch``; portable mode: EOF and ``getppid`` checks),
  so even a worker whose event loop is stuck exits;
* names itself ``greenroom worker <id>`` for ``ps``/``top``;
* sends its log records as ``LogRecord`` frames, answers ``Heartbeat`` on its event loop
  (an infinite loop in character code therefore stops the acks, while a turn's CPU-heavy
  pure steps run in a thread and leave the loop free), opens the engine, sends
  ``Ready``, then serves requests concurrently (``worker.service.character_service``);
* on ``Shutdown(grace_s)`` (or SIGTERM) finishes or cancels in-flight requests within the
  grace period, closes the engine and exits 0.

Exit codes: 0 after a shutdown or channel EOF; 1 when the character cannot start (a ``Fatal``
frame says why first).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import threading
import traceback
from typing import Final

import structlog
from setproctitle import setproctitle

from protocol.frame_codec import encode_frame, to_worker_decoder
from protocol.pipe import (
    DebuggerStarted,
    ExportCredit,
    Fatal,
    FromWorker,
    Heartbeat,
    HeartbeatAck,
    Ready,
    Shutdown,
    StartDebugger,
    ToWorker,
    WorkerCancel,
    WorkerRequest,
)
from runtime.process_death import die_with_parent
from worker import debugging
from worker.hangup_watch import start_hangup_watch
from worker.log_forwarding import configure_worker_logging
from worker.service.character_service import CharacterService
from worker.spec import WorkerSpec

CHANNEL_FD: Final = 3
EXIT_OK: Final = 0
EXIT_CANNOT_START: Final = 1

log = structlog.get_logger()


class Channel:
    """fd 3: whole frames out under a lock (any thread), frames in on the event loop.

    The socket stays in blocking mode: writes from the event loop, log records from other
    threads and the breakpoint hook all go through ``send``, which never interleaves frames.
    """

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(True)
        self._sock = sock
        self._lock = threading.Lock()

    def send(self, frame: FromWorker) -> None:
        data = encode_frame(frame)
        with self._lock:
            self._sock.sendall(data)

    def start_reader(
        self, loop: asyncio.AbstractEventLoop, inbox: asyncio.Queue[ToWorker | None]
    ) -> None:
        """Feed decoded frames to ``inbox``; ``None`` at EOF (or a corrupt stream), after
        which the process is guaranteed to end within ``EOF_EXIT_GRACE_S``.

        Frames are read by the event loop itself, with no thread hop per frame (the socket
        stays blocking for ``send``, so reads use ``MSG_DONTWAIT``). The exit guarantee does
        not depend on the loop: ``worker.hangup_watch`` (started with the process) gives the
        loop ``EOF_EXIT_GRACE_S`` after the supervisor's end hangs up, then ``_exit``s, so
        even a worker whose event loop is stuck in character code leaves."""
        decoder = to_worker_decoder()
        fd = self._sock.fileno()

        def finish(problem: BaseException | None) -> None:
            if problem is not None:
                sys.stderr.write(f"greenroom worker: channel failed: {problem}\n")
            loop.remove_reader(fd)
            inbox.put_nowait(None)

        def readable() -> None:
            try:
                chunk = self._sock.recv(1 << 16, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                finish(exc)
                return
            if not chunk:
                finish(None)
                return
            try:
                frames = decoder.feed(chunk)
            except Exception as exc:  # a corrupt stream has no resynchronisation point
                finish(exc)
                return
            for frame in frames:
                inbox.put_nowait(frame)

        loop.add_reader(fd, readable)


def _install_fds(channel_fd: int, stdout_fd: int, stderr_fd: int) -> None:
    """stdout/stderr first: their targets (1, 2) cannot collide with received fds (≥ 3), while
    fd 3 may be one of them until it has been moved."""
    for source, target in ((stdout_fd, 1), (stderr_fd, 2)):
        os.dup2(source, target)
        if source not in (channel_fd, 1, 2):
            os.close(source)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    if channel_fd != CHANNEL_FD:
        os.dup2(channel_fd, CHANNEL_FD)
        os.close(channel_fd)
    os.set_inheritable(CHANNEL_FD, False)
    # Captured through pipes: line buffering gets stray prints to the log promptly.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True)


def run_worker_process(
    spec: WorkerSpec, channel_fd: int, stdout_fd: int, stderr_fd: int, *, parent_pid: int
) -> int:
    """The whole life of a worker process (called in the fork); returns its exit code."""
    die_with_parent(parent_pid)
    _install_fds(channel_fd, stdout_fd, stderr_fd)
    setproctitle(f"greenroom worker {spec.character_id}")
    # Ctrl-C reaches the whole foreground process group; the supervisor alone decides
    # how workers stop (Shutdown, then SIGTERM, then SIGKILL).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel_socket = socket.socket(fileno=CHANNEL_FD)
    start_hangup_watch(channel_socket, parent_pid, EXIT_OK)
    channel = Channel(channel_socket)
    configure_worker_logging(channel.send, character_id=spec.character_id,
                             generation=spec.generation, level=spec.settings.logging.log_level)
    debugging.install_stack_dump()
    debugging.install_breakpoint_hook(
        spec.character_id, lambda port: channel.send(DebuggerStarted(port=port)))
    return asyncio.run(WorkerRuntime(spec, channel).run())


class WorkerRuntime:
    """The worker's event-loop side: start-up handshake, then the frame loop."""

    def __init__(self, spec: WorkerSpec, channel: Channel) -> None:
        self._spec = spec
        self._channel = channel
        self._inbox: asyncio.Queue[ToWorker | None] = asyncio.Queue()
        self._debug_port: int | None = None

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        self._channel.start_reader(loop, self._inbox)
        stop_requested = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop_requested.set)
        spec = self._spec
        try:
            if spec.debug_port is not None:
                self._start_debugger(spec.debug_port, spec.debug_wait)
            service = await CharacterService.open(spec.character_id, spec.settings,
                                                  self._channel.send)
        except Exception as exc:
            log.error("worker_cannot_start", error=f"{type(exc).__name__}: {exc}")
            self._channel.send(Fatal(error=f"{type(exc).__name__}: {exc}",
                                     traceback=traceback.format_exc()))
            return EXIT_CANNOT_START
        self._channel.send(Ready(pid=os.getpid(), character_id=spec.character_id,
                                 generation=spec.generation, engine=spec.settings.engine.backend,
                                 debug_port=self._debug_port))
        log.info("worker_ready", engine=spec.settings.engine.backend)
        try:
            await self._serve(service, stop_requested)
        finally:
            await service.close()
        log.info("worker_stopped")
        return EXIT_OK

    async def _serve(self, service: CharacterService, stop_requested: asyncio.Event) -> None:
        stop_wait = asyncio.ensure_future(stop_requested.wait())
        try:
            while True:
                next_frame = asyncio.ensure_future(self._inbox.get())
                await asyncio.wait({next_frame, stop_wait},
                                   return_when=asyncio.FIRST_COMPLETED)
                if not next_frame.done():
                    next_frame.cancel()
                    log.info("sigterm_received")
                    await service.drain(grace_s=0.0)
                    return
                frame = next_frame.result()
                match frame:
                    case None:
                        log.info("channel_closed")
                        await service.drain(grace_s=0.0)
                        return
                    case Heartbeat(seq=seq):
                        self._channel.send(HeartbeatAck(seq=seq))
                    case WorkerRequest():
                        service.submit(frame)
                    case WorkerCancel(request_id=request_id):
                        service.cancel(request_id)
                    case ExportCredit(request_id=request_id):
                        service.grant_export_credit(request_id)
                    case StartDebugger(port=port, wait=wait):
                        self._start_debugger(port, wait)
                    case Shutdown(grace_s=grace_s):
                        log.info("shutdown_requested", grace_s=grace_s,
                                 in_flight=service.in_flight)
                        await service.drain(grace_s)
                        return
        finally:
            stop_wait.cancel()

    def _start_debugger(self, port: int, wait: bool) -> None:
        try:
            bound = debugging.start_debugpy(self._spec.character_id, port)
        except debugging.DebuggerUnavailable as exc:
            log.error("debugger_unavailable", error=str(exc))
            return
        self._debug_port = bound
        self._channel.send(DebuggerStarted(port=bound))
        log.warning("debugger_listening", host="127.0.0.1", port=bound, wait=wait)
        if wait:
            # Blocks the whole worker, by design: "hold it until a debugger attaches".
            # The supervisor has stopped expecting heartbeats since DebuggerStarted.
            debugging.wait_for_debugger()
            log.warning("debugger_attached", port=bound)
