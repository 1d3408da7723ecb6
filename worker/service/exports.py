"""A character's export as the protocol carries it: streamed as ``export_chunk`` replies
paced by the gateway's ``ExportCredit``s, or whole in one ``export_response`` when it fits
a pipe frame."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Callable
from typing import Any

import structlog

from protocol.errors import ErrorCode
from protocol.pipe import EXPORT_CHUNK_WINDOW, FromWorker, WorkerReply, WorkerRequest
from protocol.snapshots import EXPORT_CHUNK_CHARS, ExportChunk, ExportResponse
from worker.engine.character_engine import CharacterEngine
from worker.service.failures import RequestFailed, smaller_answer
from worker.text_chunks import text_chunks

log = structlog.get_logger()


class Exports:
    """The exports of one character; holds the credits of those being streamed."""

    def __init__(self, engine: CharacterEngine, send: Callable[[FromWorker], None], *,
                 max_frame_bytes: int) -> None:
        self._engine = engine
        self._send = send
        self._max_frame_bytes = max_frame_bytes
        self._credits: dict[int, asyncio.Semaphore] = {}

    def grant_credit(self, request_id: int) -> None:
        """The gateway wrote one chunk of streamed export ``request_id`` to its client: one
        more may be sent. A credit for an export already finished is ignored."""
        credit = self._credits.get(request_id)
        if credit is not None:
            credit.release()

    async def stream(self, request: WorkerRequest, *, user: str | None = None
                     ) -> ExportResponse:
        """Send the export's text as ``export_chunk`` replies, at most
        ``EXPORT_CHUNK_WINDOW`` ahead of the gateway's credits, then the totals. The engine
        reads one record at a time, so memory stays bounded whatever the history's size;
        between chunks the loop serves heartbeats and other requests."""
        mid = request.message.message_id
        credit = asyncio.Semaphore(EXPORT_CHUNK_WINDOW)
        self._credits[request.request_id] = credit
        digest = hashlib.sha256()
        total_bytes = seq = 0
        try:
            with contextlib.closing(self._engine.export_text(user=user)) as pieces:
                for data in text_chunks(pieces, EXPORT_CHUNK_CHARS):
                    await credit.acquire()
                    encoded = data.encode()
                    digest.update(encoded)
                    total_bytes += len(encoded)
                    chunk = ExportChunk(message_id=mid, seq=seq, data=data)
                    self._send(WorkerReply(request_id=request.request_id, message=chunk,
                                           final=False))
                    seq += 1
                    await asyncio.sleep(0)
        finally:
            del self._credits[request.request_id]
        log.info("export_streamed", chunks=seq, total_bytes=total_bytes)
        return ExportResponse(message_id=mid, chunks=seq, total_bytes=total_bytes,
                              sha256=digest.hexdigest())

    async def whole(self, *, user: str | None = None) -> dict[str, Any]:
        """The export as one document for an unstreamed ``export_request``. Refused with
        ``answer_too_large`` as soon as its text outgrows a pipe frame, before anything that
        could not be sent is built; reads chunk by chunk, serving the loop in between. The
        text keeps non-ASCII characters as they are (up to 4 bytes each): bytes are
        counted."""
        held: list[str] = []
        size = 0
        with contextlib.closing(self._engine.export_text(user=user)) as pieces:
            for chunk in text_chunks(pieces, EXPORT_CHUNK_CHARS):
                size += len(chunk.encode("utf-8"))
                if size > self._max_frame_bytes:
                    raise RequestFailed(
                        ErrorCode.ANSWER_TOO_LARGE,
                        f"character {self._engine.character.id!r}: its export is over the "
                        f"worker pipe's {self._max_frame_bytes}-byte frame limit, too large "
                        f"to send whole. {smaller_answer('export_request')}",
                        details={"max_bytes": self._max_frame_bytes})
                held.append(chunk)
                await asyncio.sleep(0)
        document: dict[str, Any] = json.loads("".join(held))
        return document
