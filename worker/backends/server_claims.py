"""Who is using a model server right now, across every worker process on the machine:
advisory file locks (``fcntl.flock``) per server, so that one character's background request
(the model's notes after a turn) never starts while another character's reply streams from
the same server.

llama.cpp's servers end the stream in progress when another request arrives
(llama-cpp-python's ``--interrupt_requests``, its default); servers that queue instead
(Ollama, llama-server with one slot) make the reply wait behind it. Every character is its
own process, so the guard is one the kernel keeps: two lock files per server, in a private
directory (``ServerClaims(directory, …)``, mode 0o700), named by ``server_key``:

* ``<key>.replies``: every reply streaming from the server holds it *shared* for the
  stream's whole duration (``ServerClaims.reply``).
* ``<key>.notes``: a background request holds it *exclusively* for its whole duration, so
  background requests to one server go one at a time; it holds the name of whose it is.

Promises:

* **A background request starts only while no reply streams**: ``try_background`` takes
  ``replies`` exclusively (which no shared holder allows) and keeps it until the request
  has reached the server (``BackgroundClaim.handed_over``: its first event, or
  ``HANDOFF_S`` after it was sent), so a reply that starts meanwhile arrives *after* it —
  the background request is the one cut off or queued, never the reply.
* **A reply never waits for a background job**, only for that hand-over: at most
  ``HANDOFF_S``, polling every ``LOCK_POLL_S``; after that it goes ahead unlocked and takes
  its shared lock as soon as it is free, so the background request still sees it.
* **A background request sees a reply start** within one poll of ``reply_waiting``.
* **Nothing blocks the event loop**: every ``flock`` is non-blocking. Locks belong to open
  files, so a process that dies, however it dies, holds none. A lock file is never deleted
  (deleting one another process holds would split the lock in two).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from runtime.private_dirs import PRIVATE_FILE_MODE, make_private_dirs
from worker.backends.http_transport import Sleep

#: The longest a reply waits for a background request to reach the server (seconds).
HANDOFF_S: Final = 0.1
#: How often a waiting reply tries its lock again (seconds).
LOCK_POLL_S: Final = 0.002
#: What ``reply`` reports as the holder when the notes file names nobody.
UNKNOWN_HOLDER: Final = "another character"

_LOOPBACK_NAMES: Final = frozenset({"localhost", "127.0.0.1", "::1", "ip6-localhost"})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def server_key(base_url: str) -> str:
    """The name of a server's lock files: a hash of its normalised base URL. Scheme and
    host are case-folded, every loopback name is one host, the default port is explicit,
    and a trailing ``/`` or ``/v1`` is dropped — so Ollama's native URL and its ``/v1``
    (or ``localhost`` and ``127.0.0.1``) are one server."""
    parts = urlsplit(base_url.strip())
    scheme = (parts.scheme or "http").lower()
    host = (parts.hostname or "").lower()
    if host in _LOOPBACK_NAMES or host.startswith("127."):
        host = "loopback"
    port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    path = parts.path.rstrip("/")
    path = path.removesuffix("/v1").rstrip("/")
    normal = f"{scheme}://{host}:{port}{path}"
    return hashlib.sha256(normal.encode()).hexdigest()[:24]


class BackgroundClaim:
    """A background request's hold on a server (from ``ServerClaims.try_background``):
    ``replies`` exclusively until ``handed_over()``, ``notes`` until ``release()``."""

    def __init__(self, notes: int, replies: int) -> None:
        self._notes = notes
        self._replies = replies
        self._handed_over = False

    def handed_over(self) -> None:
        """The request has reached the server: replies may start (idempotent)."""
        if not self._handed_over:
            self._handed_over = True
            fcntl.flock(self._replies, fcntl.LOCK_UN)

    def reply_waiting(self) -> bool:
        """Whether a reply streams (or is about to) from the server; ``False`` before
        ``handed_over``, when none can."""
        if not self._handed_over:
            return False
        if not _try_lock(self._replies, fcntl.LOCK_EX):
            return True
        fcntl.flock(self._replies, fcntl.LOCK_UN)
        return False

    def release(self) -> None:
        """Give the server up (idempotent)."""
        for fd in (self._replies, self._notes):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._replies = self._notes = -1


class ServerClaims:
    """The lock files of one model server, for one process. ``clock``: monotonic seconds."""

    def __init__(self, directory: Path, base_url: str, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.directory = directory
        self.base_url = base_url
        self.key = server_key(base_url)
        self._clock = clock
        self._sleep = sleep

    @contextlib.asynccontextmanager
    async def reply(self) -> AsyncIterator[ReplyClaim]:
        """Hold ``replies`` shared while the block runs (a reply streams). Before it runs,
        waits at most ``HANDOFF_S`` for a background request being handed to the server;
        the ``ReplyClaim`` says how long it waited and for whom."""
        fd = self._open("replies")
        try:
            began = self._clock()
            held = _try_lock(fd, fcntl.LOCK_SH)
            holder = None if held else self.background_holder()
            while not held and self._clock() - began < HANDOFF_S:
                await self._sleep(LOCK_POLL_S)
                held = _try_lock(fd, fcntl.LOCK_SH)
            claim = ReplyClaim(waited_s=self._clock() - began if holder else 0.0,
                               waited_for=holder, went_ahead=not held)
            late = None if held else asyncio.get_running_loop().create_task(
                self._hold_when_free(fd), name="reply-claim")
            try:
                yield claim
            finally:
                if late is not None:
                    late.cancel()
                    await asyncio.gather(late, return_exceptions=True)
        finally:
            os.close(fd)

    def try_background(self, holder: str) -> BackgroundClaim | ServerBusyWith:
        """One attempt, at once: a claim when no reply streams and no other background
        request runs on the server (``holder`` — a character id — is written in the notes
        file for the replies that wait), else what keeps the server busy."""
        notes = self._open("notes")
        if not _try_lock(notes, fcntl.LOCK_EX):
            os.close(notes)
            return ServerBusyWith(f"{self.background_holder()}'s background request")
        replies = self._open("replies")
        if not _try_lock(replies, fcntl.LOCK_EX):
            os.close(replies)
            os.close(notes)
            return ServerBusyWith("a reply")
        os.ftruncate(notes, 0)
        os.pwrite(notes, holder.encode()[:200], 0)
        return BackgroundClaim(notes, replies)

    def background_holder(self) -> str:
        """Whose background request holds the server (the last one's, or
        ``UNKNOWN_HOLDER``): for logs only, read without a lock."""
        try:
            text = (self.directory / f"{self.key}.notes").read_text(errors="replace").strip()
        except OSError:
            return UNKNOWN_HOLDER
        return text or UNKNOWN_HOLDER

    async def _hold_when_free(self, fd: int) -> None:
        while not _try_lock(fd, fcntl.LOCK_SH):
            await self._sleep(LOCK_POLL_S * 5)

    def _open(self, role: str) -> int:
        make_private_dirs(self.directory)
        return os.open(self.directory / f"{self.key}.{role}",
                       os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE_MODE)


@dataclass(frozen=True, slots=True)
class ServerBusyWith:
    """Why a background claim was refused: ``what`` holds the server (``"a reply"``, or
    ``"<character>'s background request"``)."""

    what: str


@dataclass(frozen=True, slots=True)
class ReplyClaim:
    """What taking a reply's lock cost: seconds waited for a background request's
    hand-over (0 when none held the server), whose it was, and whether the reply went ahead
    before it could take the lock."""

    waited_s: float
    waited_for: str | None
    went_ahead: bool


def _try_lock(fd: int, operation: int) -> bool:
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
