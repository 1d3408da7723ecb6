"""``InProcessChannel``: a worker's pipe without the pipe — the real
``worker.service.character_service.CharacterService`` at one end, a function at the
other.

Frames cross it as they cross a worker's fd 3: each is encoded by ``protocol.frame_codec`` and
decoded again. So the service cannot tell it from the pipe (it meets the same frame limit and
gets requests checked against the frame types), and the other end receives exactly what a
gateway would: plain msgpack values, never the engine's own objects. Nothing is buffered:
``to_worker`` and the service's ``send`` hand the decoded frame on before they return, on the
event loop the service runs on. For local mode only: importing this module loads the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeVar

import msgspec

from protocol.frame_codec import FrameDecoder, encode_frame
from protocol.pipe import ExportCredit, FromWorker, ToWorker, WorkerCancel, WorkerRequest
from runtime.settings import Settings
from worker.service.character_service import CharacterService

F = TypeVar("F")
Receive = Callable[[FromWorker], None]

_FROM_WORKER: Final = msgspec.msgpack.Decoder(FromWorker)
_TO_WORKER: Final = msgspec.msgpack.Decoder(ToWorker)


class InProcessChannel:
    """One character's service and the channel to it; ``open`` it, ``close`` it once."""

    def __init__(self, service: CharacterService) -> None:
        self._service = service

    @classmethod
    async def open(cls, character_id: str, settings: Settings, receive: Receive
                   ) -> InProcessChannel:
        """Open ``character_id``'s service (``CharacterService.open``, which raises what stops
        the character from running); every frame it sends reaches ``receive``, decoded."""
        service = await CharacterService.open(
            character_id, settings, lambda frame: receive(_carried(frame, _FROM_WORKER)))
        return cls(service)

    @property
    def character_id(self) -> str:
        return self._service.character_id

    def to_worker(self, frame: WorkerRequest | WorkerCancel | ExportCredit) -> None:
        """Deliver ``frame`` as the worker's frame loop (``worker.main``) does. Raises
        ``ProtocolError`` for a frame the pipe could not carry; the service was not told."""
        match _carried(frame, _TO_WORKER):
            case WorkerRequest() as request:
                self._service.submit(request)
            case WorkerCancel(request_id=request_id):
                self._service.cancel(request_id)
            case ExportCredit(request_id=request_id):
                self._service.grant_export_credit(request_id)

    async def close(self) -> None:
        """Cancel the requests in flight (each still sends its final reply) and close the
        engine and backend."""
        await self._service.close()


def _carried(frame: ToWorker | FromWorker, decoder: msgspec.msgpack.Decoder[F]) -> F:
    """``frame`` after a trip through the pipe's codec."""
    (decoded,) = FrameDecoder(decoder).feed(encode_frame(frame))
    return decoded
