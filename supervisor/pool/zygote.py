"""The fork server ("zygote"): a preloaded process that forks worker processes on request.

Run as ``python -m supervisor.pool.zygote <control-fd> <supervisor-pid>`` by ``ZygoteClient``.
It imports the worker's code once (engine, backends, msgspec, structlog, pydantic), then
serves spawn requests on its control socket (``AF_UNIX``/``SOCK_STREAM``, length-prefixed
messages, file descriptors attached with ``SCM_RIGHTS``: ``supervisor.pool.control_frames``). A
new worker is a ``fork()`` of this already-warm process, so a restart costs milliseconds
instead of an interpreter start-up.

Control messages (pickled tuples; both ends are our own code in the same checkout):

* supervisor → zygote: ``("spawn", token, spec)`` with three fds attached: the worker's end of
  its channel socketpair, and the write ends of its stdout and stderr pipes;
  ``("check", token, character_id, characters_dir)``: would a worker forked now load that
  character file? (Asked before a reload replaces a working worker: the answer comes from the
  code the new worker would run, not from the supervisor's own, possibly older, imports.)
* zygote → supervisor: ``("hello", pid, report)`` once preloaded (a ``PreloadReport``: the
  code it holds and the problems met), ``("spawned", token, pid)`` after each fork (or
  ``("spawn_failed", token, error)``), ``("checked", token, problem)`` (``None``: the file
  loads), ``("exited", pid, exitcode)`` when it reaps a worker (``exitcode`` negative = killed
  by that signal, as ``multiprocessing`` reports it).

Why not ``multiprocessing``'s forkserver: it offers preload, fd passing, sentinels and exit
codes, but every child it forks holds the write end of the forkserver's "alive" pipe, so the
forkserver outlives a SIGKILLed supervisor for as long as any worker lives — which defeats
``PR_SET_PDEATHSIG`` in the workers — and each child re-imports the parent's ``__main__``.

No orphans: the zygote sets ``PR_SET_PDEATHSIG(SIGKILL)`` and re-checks its parent, and it
SIGKILLs every worker and exits when its control socket reaches EOF. Workers set the same
death signal against the zygote, so killing the supervisor by any means takes everything down.
In portable mode (``runtime.platform_support``: macOS, or ``GREENROOM_PORTABLE=1``) there is
no death signal: the control socket's EOF and a ``getppid()`` check between two ``select``
calls (every ``PARENT_CHECK_S``) do the same, and workers watch their channel and ``getppid``.
The zygote must stay single-threaded (it forks), which is why its check is no thread.
"""

from __future__ import annotations

import contextlib
import gc
import os
import selectors
import signal
import socket
import sys
import time
import traceback
from collections import deque
from pathlib import Path
from typing import Any, Final

from runtime.platform_support import PARENT_CHECK_S, mechanisms
from runtime.process_death import die_with_parent, parent_gone
from supervisor.pool.code_fingerprint import CodeFingerprint, module_files
from supervisor.pool.control_frames import ControlDecoder, encode
from supervisor.pool.preload_report import PreloadProblem, PreloadReport

PRELOAD: Final = ("worker.main", "worker.backends.scripted")
"""Modules imported once in the zygote; everything they import is shared by every fork."""

READ_BYTES: Final = 1 << 16
FDS_PER_SPAWN: Final = 3
MAX_FDS_PER_READ: Final = 16 * FDS_PER_SPAWN


def _send(control: socket.socket, message: tuple[Any, ...]) -> None:
    control.sendall(encode(message))


def _preload() -> PreloadReport:
    """Stamp the worker's code (``CodeFingerprint.take``), import ``PRELOAD``, then rehearse a
    turn (``worker.warmup``) so lazily built state — VADER's lexicon, the TLS context of HTTP
    clients, validator and ABC caches — is built once here instead of in every worker; returns
    the stamps and what failed (a broken module does not stop the zygote: the supervisor
    decides whether to fork from it).

    Finally ``gc.freeze()``: the objects built so far move to a permanent generation that
    the collector never scans, so a fork's first collections do not touch (and copy) every
    inherited page.

    In portable mode (macOS) a ``Tripwire`` watches the whole preload: an HTTP client built
    or a proxy looked up here would make forked workers crash on macOS, so each is returned
    as a problem ("fork hazard: ...")."""
    fingerprint = CodeFingerprint.take()
    problems: list[PreloadProblem] = []
    tripwire = None
    if mechanisms().portable:
        from supervisor.pool.fork_hazards import Tripwire

        tripwire = Tripwire()
        tripwire.arm()
    for name in PRELOAD:
        try:
            __import__(name)
        except Exception as exc:
            problems.append(PreloadProblem.from_exception(f"import {name}", exc))
    if not problems:
        from worker.warmup import rehearse

        for problem in rehearse():
            what = f"warm-up: {problem.text}"
            problems.append(PreloadProblem.from_exception(what, problem.error)
                            if problem.error is not None else PreloadProblem(what))
    if tripwire is not None:
        problems.extend(PreloadProblem(f"fork hazard: {hit}")
                        for hit in dict.fromkeys(tripwire.disarm()))
    fingerprint = fingerprint.including(module_files(sys.modules))
    gc.collect()
    gc.freeze()
    return PreloadReport(fingerprint, time.time(), tuple(problems))


def _run_child(
    control: socket.socket,
    wakeup_r: int,
    wakeup_w: int,
    spec: Any,
    fds: list[int],
    zygote_pid: int,
) -> None:
    """In the forked child: forget the zygote's plumbing, become the worker, never return."""
    code = 70  # EX_SOFTWARE: the worker code itself blew up before it could report
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        control.close()
        os.close(wakeup_r)
        os.close(wakeup_w)
        from worker.main import run_worker_process

        code = run_worker_process(spec, fds[0], fds[1], fds[2], parent_pid=zygote_pid)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _reap(control: socket.socket, children: set[int]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        with contextlib.suppress(OSError):
            _send(control, ("exited", pid, os.waitstatus_to_exitcode(status)))


def _kill_all(children: set[int]) -> None:
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid in list(children):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def serve(control: socket.socket, parent_pid: int) -> None:
    """The zygote's loop: fork on request, report exits, stop at EOF of ``control`` — or, in
    portable mode (no death signal), once ``parent_pid`` is no longer our parent."""
    check_s = PARENT_CHECK_S if mechanisms().portable else None
    wakeup_r, wakeup_w = os.pipe()
    os.set_blocking(wakeup_r, False)
    os.set_blocking(wakeup_w, False)
    # A no-op handler unblocks SIGCHLD; the wakeup fd turns it into a readable event.
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the supervisor's to handle
    signal.set_wakeup_fd(wakeup_w)
    children: set[int] = set()
    zygote_pid = os.getpid()
    decoder = ControlDecoder()
    received_fds: deque[int] = deque()
    with selectors.DefaultSelector() as selector:
        selector.register(control, selectors.EVENT_READ)
        selector.register(wakeup_r, selectors.EVENT_READ)
        while True:
            if check_s is not None and parent_gone(parent_pid):
                _kill_all(children)
                return
            for key, _ in selector.select(check_s):
                if key.fileobj == wakeup_r:
                    with contextlib.suppress(BlockingIOError):
                        os.read(wakeup_r, 4096)
                    _reap(control, children)
                    continue
                try:
                    data, fds, _flags, _addr = socket.recv_fds(
                        control, READ_BYTES, MAX_FDS_PER_READ
                    )
                except OSError:
                    data, fds = b"", []
                received_fds.extend(fds)
                if not data:
                    _kill_all(children)
                    return
                for message in decoder.feed(data):
                    if message[0] == "check":
                        _check(control, message)
                        continue
                    taken = [received_fds.popleft()
                             for _ in range(min(FDS_PER_SPAWN, len(received_fds)))]
                    pid = _spawn(control, message, taken, wakeup_r, wakeup_w, zygote_pid)
                    if pid is not None:
                        children.add(pid)


def _spawn(control: socket.socket, message: tuple[Any, ...], fds: list[int], wakeup_r: int,
           wakeup_w: int, zygote_pid: int) -> int | None:
    """Fork a worker for a ``("spawn", token, spec)`` message; returns its pid (None: the
    request was refused, and the supervisor was told why)."""
    kind, token, spec = message
    if kind != "spawn" or len(fds) != FDS_PER_SPAWN:
        for fd in fds:
            os.close(fd)
        _send(control, ("spawn_failed", token, f"bad request {kind!r}"))
        return None
    try:
        pid = os.fork()
    except OSError as exc:
        for fd in fds:
            os.close(fd)
        _send(control, ("spawn_failed", token, f"fork failed: {exc}"))
        return None
    if pid == 0:
        _run_child(control, wakeup_r, wakeup_w, spec, fds, zygote_pid)
    for fd in fds:
        os.close(fd)
    _send(control, ("spawned", token, pid))
    return pid


def _check(control: socket.socket, message: tuple[Any, ...]) -> None:
    """Answer a ``("check", token, character_id, characters_dir)`` message: would this
    process's code load that character file?"""
    _kind, token, character_id, characters_dir = message
    try:
        from schemas.loader import load_character

        load_character(character_id, Path(characters_dir))
    except Exception as exc:
        _send(control, ("checked", token, f"{type(exc).__name__}: {exc}"))
    else:
        _send(control, ("checked", token, None))


def main(argv: list[str]) -> int:
    control_fd, supervisor_pid = int(argv[0]), int(argv[1])
    die_with_parent(supervisor_pid)
    from setproctitle import setproctitle

    setproctitle("greenroom zygote")
    report = _preload()
    for problem in report.problems:
        print(f"greenroom zygote: preload failed: {problem.summary}", file=sys.stderr,
              flush=True)
    control = socket.socket(fileno=control_fd)
    _send(control, ("hello", os.getpid(), report))
    serve(control, supervisor_pid)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
