"""``WebSocketLink``: a ``client.link.Link`` to a greenroom server, over one WebSocket.

One connection, one owned link task. The link task reads every frame, routes answers to their
requests by ``message_id`` (``RequestTable``) and events to ``publish``. When the connection
drops it fails the requests in flight with ``connection_lost``, reconnects
(``connect_attempts`` tries, ``retry_delay_s`` apart), says ``hello`` again and re-attaches to
the character; each step is published as a ``ConnectionEvent``. If a whole round of attempts
fails the link is ``gone``; the next request starts a new round. The phase moves only through
``client.link_phase``'s table.

Logging goes to the stdlib ``logging`` module ("greenroom.client"): a library must not write
to the terminal of the program that embeds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Final, Literal, TypedDict, TypeVar
from urllib.parse import urlsplit

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from client.errors import (
    CONNECTION_FAILED,
    CONNECTION_LOST,
    ConnectionFailed,
    ConnectionLost,
    GreenroomError,
    RequestTimeout,
    error_for,
)
from client.interface import CharacterEvent, ConnectionEvent
from client.link import call, expect
from client.link_phase import SETTLED, LinkEvent, Phase, next_phase
from client.request_table import Arrival, RequestTable
from protocol.chat import CancelRequest
from protocol.errors import ErrorCode, ProtocolError
from protocol.events import TurnEvent, VitalsEvent, WorkerStateEvent
from protocol.json_codec import decode_server_message, encode_client_message
from protocol.session import Hello, HelloResponse, InitRequest, InitResponse
from protocol.states import PROTOCOL_VERSION
from protocol.unions import ClientMessage, ServerMessage, message_type_of

logger = logging.getLogger("greenroom.client")

DEFAULT_CONNECT_ATTEMPTS: Final = 3
DEFAULT_RETRY_DELAY_S: Final = 1.0
DEFAULT_REQUEST_TIMEOUT_S: Final = 30.0
DEFAULT_OPEN_TIMEOUT_S: Final = 5.0

_LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})

R = TypeVar("R", bound=ServerMessage)
Sleep = Callable[[float], Awaitable[None]]
Publish = Callable[[CharacterEvent], None]


class ConnectOptions(TypedDict, total=False):
    """How a ``WebSocketLink`` connects; every key optional (defaults: ``WebSocketLink``'s).

    ``token``: the server's ``GREENROOM_TOKEN``. ``user``: the speaker name (``hello.user``).
    ``client_name``: how the server's logs name this client. ``connect_attempts`` tries
    ``retry_delay_s`` apart make a round. ``request_timeout_s`` bounds the time without
    progress: the wait for each answer frame — for a streamed reply, the wait for the next
    delta or ``generation_status`` (the server repeats that one while it reads a long
    prompt), so a reply that keeps streaming is never cut off however long it is; front ends
    pass the configured ``GREENROOM_REQUEST_TIMEOUT``. ``open_timeout_s``: one WebSocket
    handshake. ``sleep``: the wait between attempts (tests replace it).
    """

    token: str | None
    user: str | None
    client_name: str
    connect_attempts: int
    retry_delay_s: float
    request_timeout_s: float
    open_timeout_s: float
    sleep: Sleep


class WebSocketLink:
    """The link to the server at ``url`` (see the module docstring; the options are
    ``ConnectOptions``). ``open()`` once, then ``close()``."""

    def __init__(
        self,
        url: str,
        *,
        publish: Publish,
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
        self._publish = publish
        self._token = token
        self._user = user
        self._client_name = client_name
        self._attempts = connect_attempts
        self._retry_delay_s = retry_delay_s
        self._request_timeout_s = request_timeout_s
        self._open_timeout_s = open_timeout_s
        self._sleep = sleep
        self._requests = RequestTable()
        self._character_id: str | None = None
        self._ws: ClientConnection | None = None
        self._phase: Phase = "idle"
        self._phase_changed = asyncio.Condition()
        self._reconnect_wanted = asyncio.Event()
        self._worker_ready = asyncio.Event()
        self._worker_ready.set()
        self._link_task: asyncio.Task[None] | None = None

    @property
    def mode(self) -> Literal["remote", "local"]:
        return "remote"

    @property
    def character_id(self) -> str | None:
        return self._character_id

    @property
    def user(self) -> str | None:
        return self._user

    async def open(self, character_id: str | None = None) -> None:
        """First connection (with retries), then attach to ``character_id`` if given. Raises
        ``ConnectionFailed`` when no attempt succeeds (the link is then closed), or the
        server's error (``Unauthorized``, ``CharacterNotFound``, ...)."""
        if self._link_task is not None:
            raise RuntimeError("WebSocketLink.open() called twice")
        await self._move("open")
        self._character_id = character_id
        ws = await self._connect_round("connecting")
        if ws is None:
            await self._move("close")
            raise ConnectionFailed(
                CONNECTION_FAILED,
                f"No greenroom server answered at {self.url} after {self._attempts} "
                f"attempt(s); start one with `greenroom serve`.",
            )
        self._ws = ws
        await self._move("connected")
        self._publish(ConnectionEvent("connected"))
        self._link_task = asyncio.create_task(self._run_link(ws), name=f"greenroom-link {self.url}")

    async def attach(self, character_id: str) -> InitResponse:
        response = await call(self, InitRequest(character_id=character_id), InitResponse)
        self._character_id = character_id
        self._worker_ready.set()
        return response

    @contextlib.asynccontextmanager
    async def exchange(self, request: ClientMessage) -> AsyncIterator[_WebSocketExchange]:
        ws = await self._connected_socket()
        request = msgspec.structs.replace(request, message_id=self._requests.new_id())
        message_id = request.message_id
        assert message_id is not None
        queue = self._requests.open(message_id)
        try:
            await self._send(ws, request)
            yield _WebSocketExchange(request, queue, timeout_s=self._request_timeout_s,
                                     url=self.url, cancel_on_server=self._abandon)
        finally:
            self._requests.close(message_id)

    async def worker_ready(self) -> None:
        self._worker_ready.clear()
        try:
            await asyncio.wait_for(self._worker_ready.wait(), self._request_timeout_s)
        except TimeoutError:
            raise error_for(
                ErrorCode.CHARACTER_RESTARTING,
                f"Character {self._character_id!r} did not come back within "
                f"{self._request_timeout_s:g} s; check `greenroom ps` and the logs.",
            ) from None

    async def close(self) -> None:
        """Close the connection and stop the link task; idempotent. Requests still in flight
        fail with ``connection_lost``."""
        if self._phase == "closed":
            return
        await self._move("close")
        # Cancelled with no await since the move: a link task about to move the phase
        # (``connected`` after a reconnection) is stopped before it can, and the socket it
        # may have set is closed below.
        task, self._link_task = self._link_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()
        self._requests.fail_all(ConnectionLost(CONNECTION_LOST, "The client was closed."))
        self._publish(ConnectionEvent("closed"))

    async def _move(self, event: LinkEvent) -> None:
        async with self._phase_changed:
            self._advance(event)

    def _advance(self, event: LinkEvent) -> None:
        """Move the phase by ``event``; the caller holds ``_phase_changed``."""
        self._phase = next_phase(self._phase, event)
        self._phase_changed.notify_all()

    async def _connect_round(self, phase: Literal["connecting", "reconnecting"]) -> (
        ClientConnection | None
    ):
        """Up to ``connect_attempts`` tries; the connected, greeted, re-attached socket or
        ``None``. Errors a retry cannot fix (bad token, unknown character) are raised."""
        for attempt in range(1, self._attempts + 1):
            if attempt > 1:
                await self._sleep(self._retry_delay_s)
            self._publish(ConnectionEvent(phase, attempt=attempt, max_attempts=self._attempts))
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
                    return expect(message, expected)

    async def _run_link(self, ws: ClientConnection) -> None:
        """Own the connection until ``close()``: read, and reconnect whenever it drops."""
        current: ClientConnection | None = ws
        while current is not None:
            reason = await self._read_until_closed(current)
            if self._phase == "closed":
                return
            self._ws = None
            await self._move("dropped")
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
        """Reconnect rounds until one succeeds (returns the socket) or the link closes.
        Between rounds the link is ``gone`` until a request asks for another (``retry``)."""
        while self._phase != "closed":
            try:
                ws = await self._connect_round("reconnecting")
                failure_code, failure = CONNECTION_FAILED, f"no answer at {self.url} ({reason})"
            except GreenroomError as exc:
                ws, failure_code, failure = None, exc.code, exc.message
            if ws is not None:
                self._ws = ws
                await self._move("connected")
                self._publish(ConnectionEvent("back"))
                return ws
            self._publish(ConnectionEvent("gone", code=failure_code, detail=failure))
            await self._move("gave_up")
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
            self._publish(message)
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
                self._advance("retry")
                self._reconnect_wanted.set()
            await self._phase_changed.wait_for(lambda: self._phase in SETTLED)
            if self._ws is not None and self._phase == "connected":
                return self._ws
        if self._phase in ("closed", "idle"):
            raise ConnectionLost(CONNECTION_LOST, "The client is not connected (closed).")
        raise ConnectionFailed(
            CONNECTION_FAILED,
            f"The server at {self.url} is gone and did not answer {self._attempts} "
            "reconnection attempt(s); start it again and retry.",
        )

    async def _send(self, ws: ClientConnection, request: ClientMessage) -> None:
        try:
            await ws.send(encode_client_message(request))
        except ConnectionClosed as exc:
            raise ConnectionLost(
                CONNECTION_LOST,
                f"Lost the connection to {self.url} ({_close_reason(exc)}) before sending; "
                "reconnecting — retry.",
            ) from None

    async def _abandon(self, message_id: str) -> None:
        """The reader stopped before the answer: cancel the generation on the server, best
        effort (the connection may be the reason it stopped)."""
        ws = self._ws
        if ws is None:
            return
        cancel = CancelRequest(message_id=self._requests.new_id(), target_message_id=message_id)
        with contextlib.suppress(ConnectionClosed, ProtocolError):
            await ws.send(encode_client_message(cancel))


class _WebSocketExchange:
    """One request on a ``WebSocketLink``: its frames, from the request table."""

    def __init__(self, request: ClientMessage, queue: asyncio.Queue[Arrival], *,
                 timeout_s: float, url: str,
                 cancel_on_server: Callable[[str], Awaitable[None]]) -> None:
        assert request.message_id is not None
        self._request = request
        self._queue = queue
        self._timeout_s = timeout_s
        self._url = url
        self._cancel_on_server = cancel_on_server
        self.message_id: str = request.message_id

    async def receive(self) -> Arrival:
        try:
            return await asyncio.wait_for(self._queue.get(), self._timeout_s)
        except TimeoutError:
            raise RequestTimeout(
                ErrorCode.TIMEOUT,
                f"No answer to {message_type_of(type(self._request))} from {self._url} "
                f"within {self._timeout_s:g} s.",
            ) from None

    async def abandon(self) -> None:
        await self._cancel_on_server(self.message_id)


def _close_reason(exc: ConnectionClosed) -> str:
    received = exc.rcvd
    if received is None:
        return "connection dropped without a close frame"
    return f"closed with code {received.code}" + (f": {received.reason}" if received.reason else "")


def _is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in _LOOPBACK_HOSTS
