"""Messages on the fork server's control socket: length-prefixed pickles on a byte stream.

A ``SOCK_STREAM`` socket, not ``SOCK_SEQPACKET`` (which would keep message boundaries by
itself): macOS has no ``SOCK_SEQPACKET`` for ``AF_UNIX``. File descriptors ride along with
``SCM_RIGHTS``; the receiver queues them in arrival order, and each spawn request takes its
own from the front (the kernel delivers them with the request's first bytes, before any
later request's). Both ends are our own code in the same checkout, hence pickle.
"""

from __future__ import annotations

import pickle
import struct
from typing import Any, Final

HEADER: Final = struct.Struct("!I")
MAX_MESSAGE_BYTES: Final = 1 << 20


class ControlStreamError(RuntimeError):
    """The control stream is corrupt (a message longer than ``MAX_MESSAGE_BYTES``)."""


def encode(message: tuple[Any, ...]) -> bytes:
    data = pickle.dumps(message)
    if len(data) > MAX_MESSAGE_BYTES:
        raise ControlStreamError(f"control message of {len(data)} bytes exceeds "
                                 f"{MAX_MESSAGE_BYTES}")
    return HEADER.pack(len(data)) + data


class ControlDecoder:
    """Bytes in, whole messages out."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[tuple[Any, ...]]:
        self._buffer += chunk
        messages = []
        while len(self._buffer) >= HEADER.size:
            (size,) = HEADER.unpack_from(self._buffer)
            if size > MAX_MESSAGE_BYTES:
                raise ControlStreamError(f"control message of {size} bytes announced; the "
                                         f"limit is {MAX_MESSAGE_BYTES}")
            end = HEADER.size + size
            if len(self._buffer) < end:
                break
            messages.append(pickle.loads(bytes(self._buffer[HEADER.size:end])))
            del self._buffer[:end]
        return messages
