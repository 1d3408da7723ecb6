"""The supervisor's end of the fork server: start it, ask it to fork, hear about exits.

Event-driven: the control socket is watched with ``loop.add_reader``; a worker's exit status
arrives as an ``("exited", pid, exitcode)`` packet the moment the zygote reaps it (SIGCHLD),
and resolves that worker's ``exit_future``. See ``supervisor.pool.zygote`` for the protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
import sys
from pathlib import Path
from typing import Any

from supervisor.pool.code_fingerprint import PROJECT_ROOT
from supervisor.pool.control_frames import ControlDecoder, ControlStreamError, encode
from supervisor.pool.preload_report import PreloadReport
from supervisor.pool.zygote import READ_BYTES

CHECK_TIMEOUT_S = 10.0
"""How long a character-file check may take in the fork server."""


class ZygoteError(RuntimeError):
    """The fork server could not be started or could not fork a worker."""


class ZygoteClient:
    """One fork server, owned by one ``WorkerPool``.

    Start it from the event loop's thread (the zygote's death signal is tied to the thread
    that forked it). ``close`` makes it SIGKILL every worker it forked and exit. ``report``
    is its ``hello``: the code it loaded and the problems it met (``None`` before it said it).
    """

    def __init__(self, *, python: str = sys.executable) -> None:
        self._python = python
        self._process: asyncio.subprocess.Process | None = None
        self._control: socket.socket | None = None
        self._tokens = itertools.count()
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._exits: dict[int, asyncio.Future[int]] = {}
        self._hello: asyncio.Future[int] | None = None
        self._decoder = ControlDecoder()
        self.pid: int | None = None
        self.report: PreloadReport | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self, timeout_s: float = 30.0) -> None:
        """Start the zygote and wait until its preload is done (at most ``timeout_s``)."""
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p
        )
        try:
            self._process = await asyncio.create_subprocess_exec(
                self._python, "-m", "supervisor.pool.zygote",
                str(theirs.fileno()), str(os.getpid()),
                pass_fds=(theirs.fileno(),), stdin=asyncio.subprocess.DEVNULL, env=env,
            )
        finally:
            theirs.close()
        ours.setblocking(False)
        self._control = ours
        self._hello = loop.create_future()
        loop.add_reader(ours.fileno(), self._on_readable)
        try:
            self.pid = await asyncio.wait_for(asyncio.shield(self._hello), timeout_s)
        except TimeoutError as exc:
            await self.close()
            raise ZygoteError(f"the fork server did not start within {timeout_s:g} s") from exc
        except ZygoteError as exc:
            process = self._process
            await self.close()
            code = process.returncode if process is not None else None
            raise ZygoteError(f"the fork server exited (exit code {code}) before it had "
                              "loaded the code") from exc

    async def spawn(self, spec: Any, channel_fd: int, stdout_fd: int, stderr_fd: int) -> int:
        """Fork a worker for ``spec`` with those three fds (the caller keeps and closes its
        copies); returns the worker's pid."""
        if self._control is None or not self.running:
            raise ZygoteError("the fork server is not running")
        token = next(self._tokens)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending[token] = future
        try:
            frame = encode(("spawn", token, spec))
            sent = socket.send_fds(self._control, [frame], [channel_fd, stdout_fd, stderr_fd])
            if sent < len(frame):  # a full socket buffer: the rest follows without fds
                self._control.setblocking(True)
                try:
                    self._control.sendall(frame[sent:])
                finally:
                    self._control.setblocking(False)
        except (OSError, ControlStreamError) as exc:
            self._pending.pop(token, None)
            raise ZygoteError(f"cannot reach the fork server: {exc}") from exc
        return await future

    async def check_character(self, character_id: str, characters_dir: Path) -> str | None:
        """Whether a worker forked now would load that character file: ``None`` if it
        would, else the problem (``ErrorType: message``, naming the file and field)."""
        if self._control is None or not self.running:
            raise ZygoteError("the fork server is not running")
        token = next(self._tokens)
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._pending[token] = future
        try:
            self._control.setblocking(True)
            try:
                self._control.sendall(encode(("check", token, character_id,
                                              str(characters_dir))))
            finally:
                self._control.setblocking(False)
        except (OSError, ControlStreamError) as exc:
            self._pending.pop(token, None)
            raise ZygoteError(f"cannot reach the fork server: {exc}") from exc
        try:
            return await asyncio.wait_for(future, CHECK_TIMEOUT_S)
        except TimeoutError:
            self._pending.pop(token, None)
            raise ZygoteError(f"the fork server did not check {character_id!r} within "
                              f"{CHECK_TIMEOUT_S:g} s") from None

    def exit_future(self, pid: int) -> asyncio.Future[int]:
        """Resolves with the exit code of worker ``pid`` (negative: killed by that signal);
        fails with ``ZygoteError`` if the zygote dies first (its workers die with it)."""
        future = self._exits.get(pid)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._exits[pid] = future
        return future

    def forget(self, pid: int) -> None:
        """Drop the exit record of a reaped worker."""
        self._exits.pop(pid, None)

    def _on_readable(self) -> None:
        assert self._control is not None
        while True:
            try:
                data = self._control.recv(READ_BYTES)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            try:
                messages = self._decoder.feed(data) if data else None
            except ControlStreamError:
                messages = None
            if messages is None:
                self._on_zygote_gone()
                return
            for message in messages:
                self._dispatch(message)

    def _dispatch(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "hello" and self._hello is not None and not self._hello.done():
            self.report = message[2]
            self._hello.set_result(message[1])
        elif kind in ("spawned", "checked"):
            future = self._pending.pop(message[1], None)
            if future is not None and not future.done():
                future.set_result(message[2])
        elif kind == "spawn_failed":
            future = self._pending.pop(message[1], None)
            if future is not None and not future.done():
                future.set_exception(ZygoteError(f"the fork server failed: {message[2]}"))
        elif kind == "exited":
            exit_future = self.exit_future(message[1])
            if not exit_future.done():
                exit_future.set_result(message[2])

    def _on_zygote_gone(self) -> None:
        if self._control is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._control.fileno())
            self._control.close()
            self._control = None
        error = ZygoteError("the fork server exited; its workers died with it")
        for future in [*self._pending.values(), *self._exits.values()]:
            if not future.done():
                future.set_exception(error)
                future.exception()  # retrieved here: nobody may be waiting on it
        if self._hello is not None and not self._hello.done():
            self._hello.set_exception(error)
            self._hello.exception()
        self._pending.clear()

    async def close(self, timeout_s: float = 5.0) -> None:
        """Close the control socket: the zygote SIGKILLs its workers, reaps them and exits.
        SIGKILLs the zygote itself if it has not exited within ``timeout_s``."""
        self._on_zygote_gone()
        process, self._process = self._process, None
        if process is None:
            return
        try:
            await asyncio.wait_for(process.wait(), timeout_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
