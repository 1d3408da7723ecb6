"""``InProcessLink``: a ``client.link.Link`` to the real
``worker.service.character_service.CharacterService`` in this process — local mode is the
worker without its process.

Requests reach the service as the ``WorkerRequest`` frames a gateway sends (through
``client.in_process_channel``) and its replies come back the same way, so every local answer
is the worker's own. What a gateway does between one session and a worker is done here: each
request read as a client's JSON frame is read (so a field out of range is refused alike), a
``request_id`` per request; ``characters_request`` and ``cancel_request`` answered here (a
cancel becomes a ``WorkerCancel``); an ``ExportCredit`` for each export chunk the reader takes;
the worker's events published, except the session's own ``turn_event`` (a gateway never sends
a session its own turns). Attaching opens the character's service, as a pool starts a worker.

The character's database is opened directly under the data directory, so running this while a
server hosts the same character in the same data directory is not supported (two engines
would diverge). There is no request timeout: the backend bounds its own waits. Importing this
module loads the engine (local mode only).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Final, Literal

import msgspec

from client.errors import error_for
from client.in_process_channel import InProcessChannel
from client.interface import CharacterEvent
from client.link import call
from client.request_table import Arrival
from protocol.chat import CancelRequest, CancelResponse
from protocol.errors import ErrorCode, ErrorResponse, ProtocolError
from protocol.events import TurnEvent, VitalsEvent, WorkerStateEvent
from protocol.json_codec import decode_client_message, encode_client_message
from protocol.pipe import (
    ExportCredit,
    FromWorker,
    WorkerCancel,
    WorkerEvent,
    WorkerReply,
    WorkerRequest,
)
from protocol.queries import (
    CharacterListing,
    CharactersRequest,
    CharactersResponse,
    characters_page,
)
from protocol.session import InitRequest, InitResponse
from protocol.snapshots import ExportChunk
from protocol.unions import ClientMessage, ServerMessage
from runtime.settings import Settings
from schemas.loader import list_characters
from schemas.problems import CharacterError, CharacterFileError
from schemas.problems import CharacterNotFound as CharacterFileMissing
from worker.backends.base import BackendError
from worker.engine.errors import EngineError

SESSION_ID: Final = "local"
"""The one session of an in-process link, as the service's requests and events name it."""

Publish = Callable[[CharacterEvent], None]


class InProcessLink:
    """The link of one local session (see the module docstring); always ``close()`` it."""

    def __init__(self, settings: Settings, *, user: str, publish: Publish) -> None:
        self._settings = settings
        self._user = user
        self._publish = publish
        self._channel: InProcessChannel | None = None
        self._exchanges: dict[str, _InProcessExchange] = {}
        #: Requests at the service without their final reply yet, by ``request_id``.
        self._unanswered: dict[int, _InProcessExchange] = {}
        self._message_ids = itertools.count(1)
        # One sequence for every service this link opens: a late reply of a closed one can
        # never be taken for the answer to a newer request.
        self._request_ids = itertools.count(1)

    @property
    def mode(self) -> Literal["remote", "local"]:
        return "local"

    @property
    def character_id(self) -> str | None:
        return None if self._channel is None else self._channel.character_id

    @property
    def user(self) -> str:
        return self._user

    async def attach(self, character_id: str) -> InitResponse:
        """Open ``character_id``'s service (closing the current one once the new one is
        open) and send it ``init_request``; never resets the character."""
        if self._unanswered:
            raise error_for(ErrorCode.BUSY, "Cannot switch characters while a reply streams.")
        channel = await self._open(character_id)
        previous, self._channel = self._channel, channel
        if previous is not None:
            await previous.close()
        return await call(self, InitRequest(character_id=character_id), InitResponse)

    @contextlib.asynccontextmanager
    async def exchange(self, request: ClientMessage) -> AsyncIterator[_InProcessExchange]:
        message_id = f"local-{next(self._message_ids)}"
        request = msgspec.structs.replace(request, message_id=message_id)
        exchange = _InProcessExchange(self, message_id)
        self._exchanges[message_id] = exchange
        try:
            self._route(request, exchange)
            yield exchange
        finally:
            del self._exchanges[message_id]

    async def worker_ready(self) -> None:
        """At once: an in-process service never restarts (and never refuses with
        ``character_restarting``)."""

    async def close(self) -> None:
        """Close the service; its requests in flight end ``cancelled``. Idempotent."""
        channel, self._channel = self._channel, None
        if channel is not None:
            await channel.close()

    async def _open(self, character_id: str) -> InProcessChannel:
        """The character's service, or the error a server answers when it cannot start."""
        try:
            return await InProcessChannel.open(character_id, self._settings, self._receive)
        except CharacterFileMissing as exc:
            raise error_for(ErrorCode.CHARACTER_NOT_FOUND, str(exc)) from None
        except CharacterFileError as exc:
            raise error_for(ErrorCode.CHARACTER_UNAVAILABLE,
                            f"Character {character_id!r} cannot be loaded: {exc}") from None
        except CharacterError as exc:
            raise error_for(ErrorCode.CHARACTER_NOT_FOUND, str(exc)) from None
        except EngineError as exc:
            raise error_for(exc.code, exc.message, exc.details) from None
        except BackendError as exc:
            raise error_for(exc.code, str(exc), exc.details) from None

    def _route(self, request: ClientMessage, exchange: _InProcessExchange) -> None:
        """Answer ``request`` here, or hand it to the service. It is read first as a
        gateway reads a client's frame (JSON, checked against the message's fields), so a
        field out of range is refused as a server refuses it."""
        try:
            request = decode_client_message(encode_client_message(request))
        except ProtocolError as exc:
            exchange.deliver(_error(request, exc.code, exc.message, exc.details))
            return
        if isinstance(request, CharactersRequest):
            exchange.deliver(self._characters(request))
            return
        if isinstance(request, CancelRequest):
            exchange.deliver(self._cancel(request))
            return
        channel = self._channel
        if channel is None:
            exchange.deliver(_error(request, ErrorCode.NOT_INITIALIZED,
                                    "No character is attached; pick one with /switch ID."))
            return
        request_id = next(self._request_ids)
        try:
            channel.to_worker(WorkerRequest(session_id=SESSION_ID, request_id=request_id,
                                            user=self._user, message=request))
        except ProtocolError as exc:
            exchange.deliver(_error(request, exc.code, exc.message, exc.details))
            return
        exchange.request_id = request_id
        self._unanswered[request_id] = exchange

    def _characters(self, request: CharactersRequest) -> CharactersResponse:
        """Every character file, the attached one ``ready``, a broken one ``failed``."""
        current = self.character_id
        listed = [
            CharacterListing(
                character_id=summary.id,
                name=summary.name or summary.id,
                archetype=summary.archetype,
                description=summary.description or None,
                state="ready" if summary.id == current else ("stopped" if summary.ok
                                                             else "failed"),
            )
            for summary in list_characters(self._settings.characters_dir)
        ]
        return characters_page(request, listed)

    def _cancel(self, request: CancelRequest) -> CancelResponse:
        target = self._exchanges.get(request.target_message_id)
        found = target is not None and target.cancel()
        return CancelResponse(
            message_id=request.message_id, success=found,
            target_message_id=request.target_message_id,
            error=None if found else (f"No request with message_id "
                                      f"{request.target_message_id!r} is in flight on this "
                                      "session."))

    def _receive(self, frame: FromWorker) -> None:
        """A frame from the service, as a gateway takes it off the pipe."""
        if isinstance(frame, WorkerReply):
            exchange = self._unanswered.get(frame.request_id)
            if exchange is None:
                return  # the reply to a request of a service closed since
            if frame.final:
                del self._unanswered[frame.request_id]
                exchange.request_id = None
            exchange.deliver(frame.message)
        elif isinstance(frame, WorkerEvent):
            event = frame.message
            own_turn = isinstance(event, TurnEvent) and event.session_id == SESSION_ID
            if isinstance(event, VitalsEvent | TurnEvent | WorkerStateEvent) and not own_turn:
                self._publish(event)
        # WorkerProgress keeps a gateway's request deadline alive; no deadline here.

    def _tell_worker(self, frame: WorkerCancel | ExportCredit) -> None:
        if self._channel is not None:
            self._channel.to_worker(frame)


class _InProcessExchange:
    """One request on an ``InProcessLink``: the frames the service (or the link) answered."""

    def __init__(self, link: InProcessLink, message_id: str) -> None:
        self._link = link
        self.message_id = message_id
        #: The request's id at the service while it has no final reply; ``None`` otherwise.
        self.request_id: int | None = None
        self._arrivals: asyncio.Queue[Arrival] = asyncio.Queue()

    def deliver(self, message: ServerMessage) -> None:
        self._arrivals.put_nowait(message)

    async def receive(self) -> Arrival:
        arrival = await self._arrivals.get()
        if isinstance(arrival, ExportChunk) and self.request_id is not None:
            # Taken by its reader: the service may send one more (a gateway grants a
            # credit when it has written a chunk to the client's socket).
            self._link._tell_worker(ExportCredit(request_id=self.request_id))
        return arrival

    def cancel(self) -> bool:
        """Tell the service to stop this request; ``False`` when it has no request there
        (answered already, or answered by the link)."""
        if self.request_id is None:
            return False
        self._link._tell_worker(WorkerCancel(request_id=self.request_id))
        return True

    async def abandon(self) -> None:
        self.cancel()


def _error(request: ClientMessage, code: str, text: str,
           details: dict[str, object] | None = None) -> ErrorResponse:
    return ErrorResponse(message_id=request.message_id, error=text, error_code=code,
                         details=details)
