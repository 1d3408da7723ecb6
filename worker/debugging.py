"""Debugging one worker: debugpy on request, ``breakpoint()`` as a pdb over TCP, stack dumps.

All three keep stdin/stdout out of it (stdout is captured; fd 3 is the protocol):

* ``start_debugpy`` runs debugpy's adapter *inside* the worker
  (``in_process_debug_adapter=True``): no adapter subprocess exists, so none can outlive
  the worker, which itself dies with the supervisor.
* ``install_breakpoint_hook`` makes ``breakpoint()`` open a pdb session served on
  ``127.0.0.1:<port>``: connect with ``nc 127.0.0.1 PORT`` and type the one-time key first
  (port and key are in the ``pdb_listening`` log record, and nowhere else). A web page can
  reach loopback ports too (a no-cors ``POST`` sends its body to any port), so a connection
  whose first line is not the key — an HTTP request line above all — is closed unread.
* ``install_stack_dump`` makes SIGUSR1 log one ``thread_stacks`` record with every thread's
  stack (a Python-level handler: it runs even while the event loop spins in character code).
"""

from __future__ import annotations

import contextlib
import pdb
import re
import secrets
import signal
import socket
import sys
import traceback
from collections.abc import Callable
from types import FrameType
from typing import Any

import structlog

log = structlog.get_logger()

PDB_KEY_TIMEOUT_S = 60.0
"""How long a pdb connection may take to send its key before it is closed."""

_MAX_KEY_LINE = 256
_HTTP_REQUEST_LINE = re.compile(r"^[A-Z]+ \S+ HTTP/\d")


class DebuggerUnavailable(RuntimeError):
    """debugpy is not installed in this environment."""

    def __init__(self, character_id: str) -> None:
        super().__init__(
            f"cannot debug character {character_id!r}: debugpy is not installed; "
            "install the extra with `pip install 'greenroom[debug]'` and restart the worker"
        )


def start_debugpy(character_id: str, port: int) -> int:
    """Listen for a DAP client on 127.0.0.1:``port`` (0: the OS picks); returns the port.

    Raises ``DebuggerUnavailable`` without debugpy. Calling it twice returns the first port.
    """
    try:
        import debugpy
    except ImportError:
        raise DebuggerUnavailable(character_id) from None
    global _debugpy_port
    if _debugpy_port is None:
        _host, bound = debugpy.listen(("127.0.0.1", port), in_process_debug_adapter=True)
        _debugpy_port = int(bound)
    return _debugpy_port


_debugpy_port: int | None = None


def wait_for_debugger() -> None:
    """Block the calling thread until a debugger has attached (debugpy must be listening)."""
    import debugpy

    debugpy.wait_for_client()


class _SocketPdb(pdb.Pdb):
    """A pdb whose console is one TCP connection; the session ends with the connection."""

    def __init__(self, connection: socket.socket, stream: Any) -> None:
        self._connection = connection
        self._stream = stream
        super().__init__(stdin=self._stream, stdout=self._stream)
        self.use_rawinput = False
        self.prompt = "(greenroom-pdb) "

    def _close(self) -> None:
        try:
            self._stream.close()
            self._connection.close()
        except OSError:
            pass

    def do_continue(self, arg: str) -> bool | None:
        result = super().do_continue(arg)
        self._close()
        return result

    do_c = do_cont = do_continue

    def do_quit(self, arg: str) -> bool | None:
        # Quitting must not kill the worker (pdb would raise BdbQuit into character code):
        # detach and let the program run on.
        self.clear_all_breaks()
        self.set_continue()
        self._close()
        return True

    do_q = do_exit = do_quit


def key_refusal(first_line: str, key: str) -> str | None:
    """Why a pdb connection whose first line is ``first_line`` is refused, or ``None`` when
    it is the key (compared in constant time)."""
    line = first_line.rstrip("\r\n")
    if _HTTP_REQUEST_LINE.match(line):
        return "an HTTP request (a web page?)"
    if secrets.compare_digest(line.encode("utf-8", "replace"), key.encode("ascii")):
        return None
    return "no key or a wrong key"


def _accept_with_key(server: socket.socket, key: str) -> tuple[socket.socket, Any]:
    """The first connection whose first line is ``key``, and its text stream; every other
    connection is logged (``pdb_refused``) and closed."""
    while True:
        connection, remote = server.accept()
        connection.settimeout(PDB_KEY_TIMEOUT_S)
        stream = connection.makefile("rw", buffering=1, encoding="utf-8", newline="\n",
                                     errors="replace")
        try:
            reason = key_refusal(stream.readline(_MAX_KEY_LINE), key)
        except OSError:
            reason = f"no key within {PDB_KEY_TIMEOUT_S:g} s"
        if reason is None:
            connection.settimeout(None)
            return connection, stream
        log.warning("pdb_refused", remote=f"{remote[0]}:{remote[1]}", reason=reason,
                    hint="type the key of the pdb_listening record first")
        with contextlib.suppress(OSError):
            if not reason.startswith("an HTTP"):
                stream.write("wrong key: type the key of the pdb_listening log record first\n")
            stream.close()
        connection.close()


def install_breakpoint_hook(
    character_id: str, on_listening: Callable[[int], None]
) -> None:
    """``breakpoint()`` → pdb served on 127.0.0.1 (an ephemeral port), behind a one-time key.

    Port and key go to the log only (``pdb_listening``, at warning). ``on_listening(port)``
    runs before blocking for the connection (the worker tells the supervisor it is
    ``debugging``, so heartbeats do not kill it while it waits).
    """

    def hook(*_args: Any, **_kwargs: Any) -> None:
        frame = sys._getframe(1)
        key = secrets.token_urlsafe(16)
        with socket.create_server(("127.0.0.1", 0)) as server:
            port = int(server.getsockname()[1])
            log.warning("pdb_listening", host="127.0.0.1", port=port, key=key,
                        attach=f"nc 127.0.0.1 {port}, then type the key {key}")
            on_listening(port)
            connection, stream = _accept_with_key(server, key)
        _SocketPdb(connection, stream).set_trace(frame)

    sys.breakpointhook = hook


def format_thread_stacks() -> dict[str, str]:
    """Every live thread's current stack, keyed ``"<name> (<ident>)"``."""
    import threading

    names = {thread.ident: thread.name for thread in threading.enumerate()}
    return {
        f"{names.get(ident, '?')} ({ident})": "".join(traceback.format_stack(frame))
        for ident, frame in sys._current_frames().items()
    }


def install_stack_dump() -> None:
    """SIGUSR1 → one ``thread_stacks`` log record (``kill -USR1 <worker pid>``).

    The handler runs in the main thread between two bytecodes, possibly while that thread
    holds the channel's send lock, so it must not log (send) itself: it captures the stacks
    and hands them to a dedicated thread through a ``SimpleQueue`` (reentrant by design).
    The dump thread logs once the lock is free, even while the event loop is stuck.
    """
    import queue
    import threading

    dumps: queue.SimpleQueue[dict[str, str]] = queue.SimpleQueue()

    def log_dumps() -> None:
        while True:
            log.warning("thread_stacks", stacks=dumps.get())

    threading.Thread(target=log_dumps, name="stack-dump-logger", daemon=True).start()

    def dump(_signum: int, _frame: FrameType | None) -> None:
        dumps.put(format_thread_stacks())

    signal.signal(signal.SIGUSR1, dump)
