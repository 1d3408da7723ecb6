"""Putting a streamed export back together, and checking it is whole.

Pure: ``ExportAssembly`` takes the ``export_chunk`` frames of one export in arrival order and
the final ``export_response``, and refuses (``protocol_violation``) a chunk out of sequence or
totals that do not match what arrived — so a file written from a stream is known complete, or
the export fails loudly. ``decode_export`` turns the text into the document.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator

from client.errors import PROTOCOL_VIOLATION, GreenroomError
from client.interface import JsonObject
from protocol.snapshots import ExportChunk, ExportResponse


class ExportAssembly:
    """The running check of one streamed export (see the module docstring)."""

    def __init__(self, character_id: str | None) -> None:
        self._character_id = character_id
        self._next_seq = 0
        self._bytes = 0
        self._digest = hashlib.sha256()

    @property
    def chunks(self) -> int:
        return self._next_seq

    def add(self, chunk: ExportChunk) -> str:
        """The chunk's text, after checking it is the next one."""
        if chunk.seq != self._next_seq:
            raise self._broken(f"chunk {chunk.seq} arrived where chunk {self._next_seq} was due")
        encoded = chunk.data.encode()
        self._digest.update(encoded)
        self._bytes += len(encoded)
        self._next_seq += 1
        return chunk.data

    def finish(self, response: ExportResponse) -> None:
        """Check the totals of the final response against what arrived."""
        expected = (response.chunks, response.total_bytes, response.sha256)
        received = (self._next_seq, self._bytes, self._digest.hexdigest())
        if expected != received:
            raise self._broken(f"the server announced (chunks, bytes, sha256) = {expected} but "
                               f"{received} arrived")

    def _broken(self, what: str) -> GreenroomError:
        return GreenroomError(
            PROTOCOL_VIOLATION,
            f"The streamed export of {self._character_id!r} is incomplete or damaged: {what}. "
            "Nothing usable was kept; export again.")


async def decode_export(pieces: AsyncIterator[str]) -> JsonObject:
    """The export document whose JSON text ``pieces`` carries (held whole in memory)."""
    document: JsonObject = json.loads("".join([piece async for piece in pieces]))
    return document
