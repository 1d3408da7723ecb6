"""``CharacterClient``: a character on a greenroom server, over one WebSocket.

One connection, one owned link task. The link task reads every frame, routes responses to
their requests by ``message_id`` (``RequestTable``) and events to subscribers (``EventHub``).
When the connection drops it fails the requests in flight with ``connection_lost``,
reconnects (``connect_attempts`` tries, ``retry_delay_s`` apart), says ``hello`` again and
re-attaches to the character; ``events()`` reports each step as a ``ConnectionEvent``. If a
whole round of attempts fails the client is ``gone``; the next request starts a new round.

Logging goes to the stdlib ``logging`` module ("greenroom.client"): a library must not write
to the terminal of the program that embeds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Final, Literal, TypeVar
from urllib.parse import urlsplit

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from client.errors import (
    CONNECTION_FAILED,
    CONNECTION_LOST,
    PROTOCOL_VIOLATION,
    ConnectionFailed,
    ConnectionLost,
    GreenroomError,
    RequestTimeout,
    error_for,
)
from client.event_hub import EventHub
from client.export_assembly import ExportAssembly, decode_export
from client.interface import (
    CharacterEntry,
    CharacterEvent,
    CharacterStatus,
    ChatReply,
    ConnectionEvent,
    JsonObject,
    ReplyPhase,
)
from client.reply_stream import ReplyStream
from client.request_table import Arrival, RequestTable
from protocol.chat import (
    AlternativesRequest,
    AlternativesResponse,
    CancelRequest,
    CancelResponse,
    ChatDelta,
    ChatRequest,
    ChatResponse,
    GenerationStatus,
    RegenerateRequest,
    SelectAlternativeRequest,
    SelectAlternativeResponse,
    UndoRequest,
    UndoResponse,
)
from protocol.errors import ErrorCode, ErrorResponse, ProtocolError
from protocol.events import TurnEvent, VitalsEvent, WorkerStateEvent
from protocol.json_codec import decode_server_message, encode_client_message
from protocol.queries import (
    CharactersRequest,
    CharactersResponse,
    MemorySearchRequest,
    MemorySearchResponse,
    StatusRequest,
    StatusResponse,
)
from protocol.session import Hello, HelloResponse, InitRequest, InitResponse
from protocol.snapshots import (
    DeleteSnapshotRequest,
    DeleteSnapshotResponse,
    ExportChunk,
    ExportRequest,
    ExportResponse,
    LoadRequest,
    LoadResponse,
    ResetRequest,
    ResetResponse,
    SaveRequest,
    SaveResponse,
    SnapshotsRequest,
    SnapshotsResponse,
)
from protocol.states import PROTOCOL_VERSION
from protocol.unions import ClientMessage, ServerMessage, message_type_of

logger = logging.getLogger("greenroom.client")

DEFAULT_CONNECT_ATTEMPTS: Final = 3
DEFAULT_RETRY_DELAY_S: Final = 1.0
DEFAULT_REQUEST_TIMEOUT_S: Final = 30.0
DEFAULT_OPEN_TIMEOUT_S: Final = 5.0

_LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})

Phase = Literal["idle", "connecting", "connected", "reconnecting", "gone", "closed"]
R = TypeVar("R", bound=ServerMessage)
Sleep = Callable[[float], Awaitable[None]]


class CharacterClient:
    """A remote character; satisfies ``client.interface.Character``.

    Use ``await CharacterClient.connect(url, character_id=...)`` (or construct, subscribe to
    ``events()`` to see the first connection attempts, then ``await open(...)``), and always
    ``await close()`` (or ``async with``). ``request_timeout_s`` bounds the time without
    progress: the wait for each answer frame — for a streamed reply, the wait for the next
    delta or ``generation_status`` (the server repeats that one while it reads a long prompt),
    so a reply that keeps streaming is never cut off however long it is. Front ends pass
    the configured ``GREENROOM_REQUEST_TIMEOUT``.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        user: str | None = None,
        client_name: str = "greenroom-client",
        connect_attempts: int = DEFAULT_CONNECT_ATTEMPTS,
        retry_delay_s: float = DEFAULT_RETRY_DELAY_S,
        request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S,
        open_timeout_s: float = DEFAULT_OPEN_TIMEOUT_S,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if connect_attempts < 1:
            raise ValueError("connect_attempts must be at least 1")
        self.url = url
        self._token = token
        self._user = user
        self._client_name = client_name
        self._attempts = connect_attempts
        self._retry_delay_s = retry_delay_s
        self._request_timeout_s = request_timeout_s
        self._open_timeout_s = open_timeout_s
        self._sleep = sleep
        self._requests = RequestTable()
        self._hub = EventHub()
        self._character_id: str | None = None
        self._ws: ClientConnection | None = None
        self._phase: Phase = "idle"
        self._phase_changed = asyncio.Condition()
        self._reconnect_wanted = asyncio.Event()
        self._worker_ready = asyncio.Event()
        self._worker_ready.set()
        self._inflight_chat: str | None = None
        self._link_task: asyncio.Task[None] | None = None

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        character_id: str | None = None,
        token: str | None = None,
        user: str | None = None,
        client_name: str = "greenroom-client",
        connect_attempts: int = DEFAULT_CONNECT_ATTEMPTS,
        retry_delay_s: float = DEFAULT_RETRY_DELAY_S,
        request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S,
    ) -> CharacterClient:
        """Connect, say hello and (with ``character_id``) attach. Raises ``ConnectionFailed``
        when no attempt succeeds, or the server's error (``Unauthorized``,
        ``CharacterNotFound``, ...)."""
        client = cls(
            url,
            token=token,
            user=user,
            client_name=client_name,
            connect_attempts=connect_attempts,
            retry_delay_s=retry_delay_s,
            request_timeout_s=request_timeout_s,
        )
        try:
            await client.open(character_id)
        except BaseException:
            await client.close()
            raise
        return client

    async def __aenter__(self) -> CharacterClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- the Character interface ------------------------------------------------------------

    @property
    def character_id(self) -> str | None:
        return self._character_id

    @property
    def mode(self) -> Literal["remote", "local"]:
        return "remote"

    @property
    def user(self) -> str | None:
        return self._user

    async def open(self, character_id: str | None = None) -> None:
        """First connection (with retries), then attach to ``character_id`` if given."""
        if self._link_task is not None:
            raise RuntimeError("CharacterClient.open() called twice")
        await self._set_phase("connecting")
        self._character_id = character_id
        ws = await self._connect_round("connecting")
        if ws is None:
            await self._set_phase("closed")
            raise ConnectionFailed(
                CONNECTION_FAILED,
                f"No greenroom server answered at {self.url} after {self._attempts} "
                f"attempt(s); start one with `greenroom serve`.",
            )
        self._ws = ws
        await self._set_phase("connected")
        self._hub.publish(ConnectionEvent("connected"))
        self._link_task = asyncio.create_task(self._run_link(ws), name=f"greenroom-link {self.url}")

    async def attach(self, character_id: str) -> JsonObject:
        response = await self._call(InitRequest(character_id=character_id), InitResponse)
        self._character_id = character_id
        self._worker_ready.set()
        return response.character_info or {}

    async def list_characters(self) -> list[CharacterEntry]:
        """Every configured character, fetched page by page."""
        entries: list[CharacterEntry] = []
        offset: int | None = 0
        while offset is not None:
            response = await self._call(CharactersRequest(offset=offset), CharactersResponse)
            entries.extend(
                CharacterEntry(
                    character_id=c.character_id,
                    name=c.name,
                    archetype=c.archetype,
                    description=c.description,
                    state=c.state,
                )
                for c in response.characters
            )
            offset = _next_page(offset, response)
        return entries

    async def chat(self, text: str) -> ChatReply:
        return await self.chat_stream(text).collect()

    def chat_stream(self, text: str, *, keep_partial: bool = False) -> ReplyStream:
        request = ChatRequest(user_message=text, stream=True, user=self._user,
                              keep_partial=keep_partial)
        return ReplyStream(lambda: self._stream_reply(request))

    def regenerate_stream(self, *, keep_partial: bool = False) -> ReplyStream:
        request = RegenerateRequest(stream=True, keep_partial=keep_partial)
        return ReplyStream(lambda: self._stream_reply(request))

    async def cancel(self) -> bool:
        target = self._inflight_chat
        if target is None:
            return False
        # success is false when the reply finished before the cancel arrived: not an error.
        response = await self._call(
            CancelRequest(target_message_id=target), CancelResponse, failure_ok=True
        )
        return response.success

    async def undo(self) -> JsonObject:
        return (await self._call(UndoRequest(), UndoResponse)).character_info or {}

    async def alternatives(self) -> list[JsonObject]:
        return (await self._call(AlternativesRequest(), AlternativesResponse)).alternatives

    async def select_alternative(self, index: int) -> JsonObject:
        request = SelectAlternativeRequest(index=index)
        return (await self._call(request, SelectAlternativeResponse)).character_info or {}

    async def status(
        self, *, include_history: bool = False, include_performance: bool = False
    ) -> CharacterStatus:
        request = StatusRequest(
            include_vitals=True,
            include_history=include_history,
            include_performance=include_performance,
        )
        response = await self._call(request, StatusResponse)
        return CharacterStatus(
            summary=response.character_summary or {},
            vitals=response.vitals or {},
            history=response.conversation_history,
            performance=response.performance_stats,
        )

    async def search_memory(self, query: str, limit: int = 5) -> list[JsonObject]:
        request = MemorySearchRequest(query=query, limit=limit)
        return (await self._call(request, MemorySearchResponse)).memories

    async def save(self, name: str | None = None) -> str:
        response = await self._call(SaveRequest(filename=name), SaveResponse)
        return response.filename or (name or "")

    async def load(self, name: str) -> JsonObject:
        return (await self._call(LoadRequest(filename=name), LoadResponse)).character_info or {}

    async def reset(self, *, preserve_memories: bool = True) -> JsonObject:
        request = ResetRequest(preserve_memories=preserve_memories)
        return (await self._call(request, ResetResponse)).character_info or {}

    async def snapshots(self) -> list[JsonObject]:
        """Every snapshot, fetched page by page (a server without pages sends one)."""
        entries: list[JsonObject] = []
        offset: int | None = 0
        while offset is not None:
            response = await self._call(SnapshotsRequest(offset=offset), SnapshotsResponse)
            entries.extend(response.snapshots)
            offset = _next_page(offset, response)
        return entries

    async def delete_snapshot(self, name: str) -> None:
        await self._call(DeleteSnapshotRequest(filename=name), DeleteSnapshotResponse)

    async def export(self) -> JsonObject:
        return await decode_export(self.export_text())

    async def export_text(self) -> AsyncGenerator[str, None]:
        """A streamed export (``export_request`` with ``stream: true``), checked by
        ``ExportAssembly``; leaving early cancels it on the server. ``request_timeout_s``
        bounds the wait for each chunk. A server that predates streaming answers with the
        whole document, which is yielded as one piece."""
        ws = await self._connected_socket()
        request = ExportRequest(message_id=self._requests.new_id(), stream=True)
        message_id = request.message_id
        assert message_id is not None
        queue = self._requests.open(message_id)
        assembly = ExportAssembly(self._character_id)
        answered = False
        try:
            await self._send(ws, request)
            while True:
                arrival = await self._next(queue, request)
                if isinstance(arrival, ExportChunk):
                    yield assembly.add(arrival)
                    continue
                answered = True
                response = self._expect(arrival, ExportResponse)
                if response.document is not None and assembly.chunks == 0:
                    yield json.dumps(response.document, ensure_ascii=False) + "\n"
                else:
                    assembly.finish(response)
                return
        finally:
            self._requests.close(message_id)
            if not answered:
                await self._abandon(message_id)

    def events(self) -> AsyncIterator[CharacterEvent]:
        return self._hub.subscribe()

    async def close(self) -> None:
        """Close the connection and stop the link task; idempotent. Requests still in flight
        fail with ``connection_lost``; event iterators end."""
        if self._phase == "closed" and self._link_task is None:
            self._hub.close()
            return
        await self._set_phase("closed")
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()
        task, self._link_task = self._link_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._requests.fail_all(ConnectionLost(CONNECTION_LOST, "The client was closed."))
        self._hub.publish(ConnectionEvent("closed"))
        self._hub.close()

    # -- connection ---------------------------------------------------------------------------

    async def _set_phase(self, phase: Phase) -> None:
        async with self._phase_changed:
            self._phase = phase
            self._phase_changed.notify_all()

    async def _connect_round(self, phase: Literal["connecting", "reconnecting"]) -> (
        ClientConnection | None
    ):
        """Up to ``connect_attempts`` tries; the connected, greeted, re-attached socket or
        ``None``. Errors a retry cannot fix (bad token, unknown character) are raised."""
        for attempt in range(1, self._attempts + 1):
            if attempt > 1:
                await self._sleep(self._retry_delay_s)
            self._hub.publish(ConnectionEvent(phase, attempt=attempt, max_attempts=self._attempts))
            try:
                ws = await connect(
                    self.url,
                    additional_headers=self._auth_headers(),
                    open_timeout=self._open_timeout_s,
                    proxy=None if _is_loopback(self.url) else True,
                    max_size=None,
                )
            except InvalidStatus as exc:
                if exc.response.status_code in (401, 403):
                    raise error_for(
                        ErrorCode.UNAUTHORIZED,
                        f"{self.url} refused the connection (HTTP {exc.response.status_code}); "
                        "pass the server's token with --token or GREENROOM_TOKEN.",
                    ) from None
                logger.info("connect attempt %d to %s failed: %s", attempt, self.url, exc)
                continue
            except (OSError, TimeoutError, InvalidHandshake) as exc:
                logger.info("connect attempt %d to %s failed: %s", attempt, self.url, exc)
                continue
            try:
                await self._greet(ws)
            except (ConnectionClosed, ConnectionLost, RequestTimeout) as exc:
                logger.info("handshake attempt %d with %s failed: %s", attempt, self.url, exc)
                await ws.close()
                continue
            except GreenroomError as exc:
                await ws.close()
                if exc.code in (ErrorCode.CHARACTER_RESTARTING, ErrorCode.WORKER_CRASHED):
                    continue
                raise
            return ws
        return None

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    async def _greet(self, ws: ClientConnection) -> None:
        """``hello`` (subscribing to every event kind), then ``init_request`` when attached.

        Runs before the link task reads this socket, so it reads its answers itself. A server
        that predates ``hello`` answers ``unknown_message_type``; the session then works
        without events, as the seed's protocol did.
        """
        hello = Hello(
            message_id=self._requests.new_id(),
            protocol_version=PROTOCOL_VERSION,
            client_name=self._client_name,
            token=self._token,
            user=self._user,
            subscribe=["vitals", "turns", "worker_state"],
        )
        try:
            await self._exchange_direct(ws, hello, HelloResponse)
        except GreenroomError as exc:
            if exc.code != ErrorCode.UNKNOWN_MESSAGE_TYPE:
                raise
            logger.info("%s does not know `hello`; continuing without events", self.url)
        if self._character_id is not None:
            init = InitRequest(message_id=self._requests.new_id(), character_id=self._character_id)
            await self._exchange_direct(ws, init, InitResponse)

    async def _exchange_direct(
        self, ws: ClientConnection, request: ClientMessage, expected: type[R]
    ) -> R:
        await ws.send(encode_client_message(request))
        async with asyncio.timeout(self._request_timeout_s):
            while True:
                try:
                    message = decode_server_message(await ws.recv())
                except ProtocolError as exc:
                    logger.warning("undecodable frame from %s during handshake: %s", self.url, exc)
                    continue
                if message.message_id == request.message_id:
                    return self._expect(message, expected)

    async def _run_link(self, ws: ClientConnection) -> None:
        """Own the connection until ``close()``: read, and reconnect whenever it drops."""
        current: ClientConnection | None = ws
        while current is not None:
            reason = await self._read_until_closed(current)
            if self._phase == "closed":
                return
            self._ws = None
            await self._set_phase("reconnecting")
            self._requests.fail_all(
                ConnectionLost(
                    CONNECTION_LOST,
                    f"Lost the connection to {self.url} ({reason}) with this request in "
                    "flight; its outcome is unknown. Reconnecting.",
                )
            )
            current = await self._recover(reason)

    async def _read_until_closed(self, ws: ClientConnection) -> str:
        try:
            async for frame in ws:
                self._dispatch(frame)
        except ConnectionClosed as exc:
            return _close_reason(exc)
        return "closed by the server"

    async def _recover(self, reason: str) -> ClientConnection | None:
        """Reconnect rounds until one succeeds (returns the socket) or the client closes."""
        while self._phase != "closed":
            try:
                ws = await self._connect_round("reconnecting")
                failure_code, failure = CONNECTION_FAILED, f"no answer at {self.url} ({reason})"
            except GreenroomError as exc:
                ws, failure_code, failure = None, exc.code, exc.message
            if ws is not None:
                self._ws = ws
                await self._set_phase("connected")
                self._hub.publish(ConnectionEvent("back"))
                return ws
            self._hub.publish(ConnectionEvent("gone", code=failure_code, detail=failure))
            await self._set_phase("gone")
            await self._reconnect_wanted.wait()
            self._reconnect_wanted.clear()
        return None

    def _dispatch(self, frame: str | bytes) -> None:
        try:
            message = decode_server_message(frame)
        except ProtocolError as exc:
            logger.warning("dropping undecodable frame from %s: %s", self.url, exc)
            return
        if isinstance(message, VitalsEvent | TurnEvent | WorkerStateEvent):
            if isinstance(message, WorkerStateEvent) and message.state == "ready":
                self._worker_ready.set()
            elif isinstance(message, WorkerStateEvent):
                self._worker_ready.clear()
            self._hub.publish(message)
        elif not self._requests.deliver(message):
            logger.info(
                "dropping %s for %s: no request waits for it (timed out or abandoned)",
                message_type_of(type(message)),
                message.message_id,
            )

    async def _connected_socket(self) -> ClientConnection:
        """The live socket, reconnecting first when the last round gave up."""
        async with self._phase_changed:
            if self._phase == "gone":
                self._phase = "reconnecting"
                self._reconnect_wanted.set()
            await self._phase_changed.wait_for(
                lambda: self._phase in ("connected", "gone", "closed", "idle")
            )
            if self._ws is not None and self._phase == "connected":
                return self._ws
        if self._phase in ("closed", "idle"):
            raise ConnectionLost(CONNECTION_LOST, "The client is not connected (closed).")
        raise ConnectionFailed(
            CONNECTION_FAILED,
            f"The server at {self.url} is gone and did not answer {self._attempts} "
            "reconnection attempt(s); start it again and retry.",
        )

    # -- requests -----------------------------------------------------------------------------

    async def _call(
        self, request: ClientMessage, expected: type[R], *, failure_ok: bool = False
    ) -> R:
        """Send ``request`` and return its answer. A request refused with
        ``character_restarting`` never reached the character, so it is sent once more after
        the worker reports ``ready``."""
        try:
            return await self._call_once(request, expected, failure_ok)
        except GreenroomError as exc:
            if exc.code != ErrorCode.CHARACTER_RESTARTING:
                raise
            await self._wait_for_worker_ready()
            return await self._call_once(request, expected, failure_ok)

    async def _call_once(self, request: ClientMessage, expected: type[R], failure_ok: bool) -> R:
        ws = await self._connected_socket()
        request = msgspec.structs.replace(request, message_id=self._requests.new_id())
        assert request.message_id is not None
        queue = self._requests.open(request.message_id)
        try:
            await self._send(ws, request)
            return self._expect(await self._next(queue, request), expected, failure_ok)
        finally:
            self._requests.close(request.message_id)

    async def _stream_reply(
        self, template: ChatRequest | RegenerateRequest
    ) -> AsyncGenerator[str | ReplyPhase | ChatReply, None]:
        if self._inflight_chat is not None:
            raise error_for(
                ErrorCode.BUSY,
                "A reply is already being generated; wait for it or cancel it first.",
            )
        for attempt in (1, 2):
            ws = await self._connected_socket()
            request = msgspec.structs.replace(template, message_id=self._requests.new_id())
            message_id = request.message_id
            assert message_id is not None
            queue = self._requests.open(message_id)
            self._inflight_chat = message_id
            answered = False
            delivered_any = False
            try:
                await self._send(ws, request)
                while True:
                    arrival = await self._next(queue, request)
                    if isinstance(arrival, ChatDelta):
                        delivered_any = True
                        yield arrival.delta
                        continue
                    if isinstance(arrival, GenerationStatus):
                        yield ReplyPhase(arrival.phase, arrival.elapsed_s)
                        continue
                    answered = True
                    if (
                        attempt == 1
                        and not delivered_any
                        and isinstance(arrival, ErrorResponse)
                        and arrival.error_code == ErrorCode.CHARACTER_RESTARTING
                    ):
                        break
                    yield _reply_from(self._expect(arrival, ChatResponse))
                    return
            finally:
                self._requests.close(message_id)
                self._inflight_chat = None
                if not answered:
                    await self._abandon(message_id)
            await self._wait_for_worker_ready()

    async def _abandon(self, message_id: str) -> None:
        """The reader stopped before the answer: cancel the generation on the server, best
        effort (the connection may be the reason it stopped)."""
        ws = self._ws
        if ws is None:
            return
        cancel = CancelRequest(message_id=self._requests.new_id(), target_message_id=message_id)
        with contextlib.suppress(ConnectionClosed, ProtocolError):
            await ws.send(encode_client_message(cancel))

    async def _wait_for_worker_ready(self) -> None:
        self._worker_ready.clear()
        try:
            await asyncio.wait_for(self._worker_ready.wait(), self._request_timeout_s)
        except TimeoutError:
            raise error_for(
                ErrorCode.CHARACTER_RESTARTING,
                f"Character {self._character_id!r} did not come back within "
                f"{self._request_timeout_s:g} s; check `greenroom ps` and the logs.",
            ) from None

    async def _send(self, ws: ClientConnection, request: ClientMessage) -> None:
        try:
            await ws.send(encode_client_message(request))
        except ConnectionClosed as exc:
            raise ConnectionLost(
                CONNECTION_LOST,
                f"Lost the connection to {self.url} ({_close_reason(exc)}) before sending; "
                "reconnecting — retry.",
            ) from None

    async def _next(self, queue: asyncio.Queue[Arrival], request: ClientMessage) -> Arrival:
        try:
            return await asyncio.wait_for(queue.get(), self._request_timeout_s)
        except TimeoutError:
            raise RequestTimeout(
                ErrorCode.TIMEOUT,
                f"No answer to {message_type_of(type(request))} from {self.url} within "
                f"{self._request_timeout_s:g} s.",
            ) from None

    def _expect(self, arrival: Arrival, expected: type[R], failure_ok: bool = False) -> R:
        if isinstance(arrival, GreenroomError):
            raise arrival
        if isinstance(arrival, ErrorResponse):
            raise error_for(arrival.error_code, arrival.error, arrival.details)
        if not isinstance(arrival, expected):
            raise GreenroomError(
                PROTOCOL_VIOLATION,
                f"Expected {message_type_of(expected)} but the server sent "
                f"{message_type_of(type(arrival))}.",
            )
        if not failure_ok and getattr(arrival, "success", True) is False:
            text = getattr(arrival, "error", None) or "the server reported a failure"
            raise GreenroomError(ErrorCode.INTERNAL, str(text))
        return arrival


def _reply_from(response: ChatResponse) -> ChatReply:
    state = response.character_state_summary or {}
    vitals = state.get("vitals")
    mood = state.get("mood")
    if isinstance(mood, dict):
        mood = mood.get("label") or mood.get("state")
    metadata: JsonObject = {}
    for part in (response.response_metadata, response.generation_info, response.performance_info):
        if part:
            metadata.update(part)
    return ChatReply(
        text=response.response_text or "",
        vitals=vitals if isinstance(vitals, dict) else None,
        mood=mood if isinstance(mood, str) else None,
        metadata=metadata,
    )


def _next_page(offset: int, page: CharactersResponse | SnapshotsResponse) -> int | None:
    """The offset of the page after ``page`` (asked for at ``offset``), ``None`` after the
    last; a ``next_offset`` that does not advance would loop forever: a protocol violation."""
    next_offset = page.next_offset
    if next_offset is not None and next_offset <= offset:
        raise GreenroomError(
            PROTOCOL_VIOLATION,
            f"The server's {message_type_of(type(page))} for offset {offset} gave next_offset "
            f"{next_offset}, which does not advance; stopped paging (a server bug: report it "
            "with the server's version).",
        )
    return next_offset


def _close_reason(exc: ConnectionClosed) -> str:
    received = exc.rcvd
    if received is None:
        return "connection dropped without a close frame"
    return f"closed with code {received.code}" + (f": {received.reason}" if received.reason else "")


def _is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in _LOOPBACK_HOSTS
