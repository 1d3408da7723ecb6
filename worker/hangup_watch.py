"""The worker's last-resort exit: a thread that ends the process once the supervisor's end of
the channel hangs up (or, in portable mode, once the parent is gone), even when the event loop
is stuck in character code.

Two ways to notice the hang-up (``runtime.platform_support`` chooses):

* Linux: ``poll`` for ``POLLRDHUP`` alone — woken by the peer closing, never by data (that is
  the event loop's to read), so the thread sleeps without the GIL until then.
* portable (macOS has no ``POLLRDHUP``): ``poll`` for ``POLLIN``/``POLLHUP`` with a timeout;
  readable is told apart from closed by ``recv(MSG_PEEK)``, which returns ``b""`` only at EOF
  and leaves data for the loop. Unread data keeps the socket readable, so after seeing data
  the thread waits ``PARENT_CHECK_S`` before looking again instead of spinning. Each wake-up
  also checks ``getppid()``: a worker whose fork server died (no ``PR_SET_PDEATHSIG`` here)
  exits as well.
"""

from __future__ import annotations

import os
import select
import socket
import threading
from collections.abc import Callable
from typing import Final

from runtime.platform_support import PARENT_CHECK_S, mechanisms
from runtime.process_death import parent_gone

EOF_EXIT_GRACE_S: Final = 2.0
"""After the hang-up the worker closes cleanly if it can; past this it ``_exit``s anyway."""


def start_hangup_watch(sock: socket.socket, parent_pid: int, exit_code: int) -> None:
    """Start the watcher thread for the channel ``sock`` (a daemon: it never blocks exit)."""
    watch: Watch = _wait_portably if mechanisms().portable else _wait_for_hangup
    threading.Thread(target=_exit_after, args=(watch, sock, parent_pid, exit_code),
                     name="channel-reader-eof-watch", daemon=True).start()


Watch = Callable[[socket.socket, int], None]


def _exit_after(watch: Watch, sock: socket.socket, parent_pid: int, exit_code: int) -> None:
    watch(sock, parent_pid)
    threading.Event().wait(EOF_EXIT_GRACE_S)
    os._exit(exit_code)


def _wait_for_hangup(sock: socket.socket, parent_pid: int) -> None:
    """Linux: return when the peer hangs up (the death signal covers the parent)."""
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLRDHUP)
    while not poller.poll():
        pass


def _wait_portably(sock: socket.socket, parent_pid: int) -> None:
    """Portable: return when the peer hangs up or the parent is gone."""
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN | select.POLLHUP)
    pause = threading.Event()
    while not parent_gone(parent_pid):
        events = poller.poll(PARENT_CHECK_S * 1000)
        if not events:
            continue
        if any(event & (select.POLLHUP | select.POLLERR | select.POLLNVAL)
               for _, event in events) or peer_closed(sock):
            return
        pause.wait(PARENT_CHECK_S)


def peer_closed(sock: socket.socket) -> bool:
    """Whether a readable ``sock`` is at EOF, without consuming a byte of data."""
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True
