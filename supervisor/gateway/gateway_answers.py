"""The requests the gateway answers itself, and attaching a session to a character.

``Handling.GATEWAY`` needs no character: ``ping_request``, ``hello``, ``characters_request``,
``cancel_request``. ``Handling.ADMIN`` goes through the worker pool: ``workers_request``,
``restart_request``, ``reload_request``, ``debug_request``. Each answer is returned, never
sent: the gateway counts and queues it. Admission (``admission.py``) has already refused
unauthenticated sessions and admin requests from web pages. Everything that waits on the pool
(starting a worker, a restart, a debugger) is bounded by ``request_timeout_s`` — except a
reload, which lasts as long as its roll (the pool bounds each step: the new fork server's
start, each worker's drain, stop and start).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from protocol.admin import (
    CharacterReloadInfo,
    DebugRequest,
    DebugResponse,
    ReloadRequest,
    ReloadResponse,
    RestartRequest,
    RestartResponse,
    WorkerInfo,
    WorkersRequest,
    WorkersResponse,
)
from protocol.chat import CancelRequest, CancelResponse
from protocol.errors import ErrorCode, ErrorResponse
from protocol.queries import (
    CharacterListing,
    CharactersRequest,
    CharactersResponse,
    characters_page,
)
from protocol.session import Hello, HelloResponse, PingRequest, PingResponse
from protocol.states import PROTOCOL_VERSION
from protocol.unions import CLIENT_MESSAGE_TYPES, ServerMessage
from runtime.settings import Settings
from schemas.loader import list_characters
from schemas.model import is_valid_character_id
from supervisor.gateway.admission import hello_refusal
from supervisor.gateway.auth_throttle import AuthThrottle
from supervisor.gateway.router import error_for
from supervisor.gateway.session import Session
from supervisor.pool.api import PoolError, ReloadOutcome, WorkerPoolApi

Cancel = Callable[[str, str], bool]
"""(session id, target ``message_id``) → whether a live request was found and cancelled."""


def _server_version() -> str:
    try:
        return importlib.metadata.version("greenroom")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


class GatewayAnswers:
    """Answers of one gateway. ``sessions`` is its live map (read only, for the session
    counts of ``workers_request``); ``cancel`` cancels through the router."""

    def __init__(
        self,
        settings: Settings,
        pool: WorkerPoolApi,
        *,
        characters_dir: Path,
        sessions: Mapping[str, Session],
        throttle: AuthThrottle,
        cancel: Cancel,
    ) -> None:
        self._settings = settings
        self._pool = pool
        self._characters_dir = characters_dir
        self._sessions = sessions
        self._throttle = throttle
        self._cancel = cancel

    async def answer(self, session: Session, message: Any) -> ServerMessage:
        """The answer to a ``GATEWAY`` or ``ADMIN`` request."""
        if isinstance(message, PingRequest):
            return PingResponse(message_id=message.message_id)
        if isinstance(message, Hello):
            return await self._hello(session, message)
        if isinstance(message, CharactersRequest):
            return await self._characters(message)
        if isinstance(message, CancelRequest):
            return self._cancel_request(session, message)
        if isinstance(message, WorkersRequest):
            code = self._pool.code()
            return WorkersResponse(message_id=message.message_id, workers=self._workers(),
                                   code_generation=code.generation,
                                   reload_error=code.reload_error)
        if isinstance(message, RestartRequest):
            return await self._restart(message)
        if isinstance(message, ReloadRequest):
            return await self._reload(message)
        if isinstance(message, DebugRequest):
            return await self._debug(message)
        raise TypeError(f"no gateway answer for {type(message).__name__}")

    async def attach(
        self, session: Session, character_id: str, message_id: str | None
    ) -> ErrorResponse | None:
        """Attach the session to the character, starting its worker if needed (never
        resetting it); the refusal when it cannot be. An id that is not a plain name never
        reaches the pool."""
        if not is_valid_character_id(character_id):
            return error_for(
                message_id,
                ErrorCode.CHARACTER_NOT_FOUND,
                f"{character_id!r} is not a character id (lowercase letters, digits, '-', '_'); "
                "list them with characters_request.",
            )
        try:
            async with asyncio.timeout(self._settings.gateway.request_timeout_s):
                await self._pool.ensure(character_id)
        except PoolError as exc:
            return error_for(message_id, exc.code, str(exc))
        except TimeoutError:
            return error_for(
                message_id,
                ErrorCode.TIMEOUT,
                f"{character_id!r} did not become ready within "
                f"{self._settings.gateway.request_timeout_s:g} s; retry.",
            )
        session.state.character_id = character_id
        session.log = session.log.bind(character=character_id)
        session.log.info("session_attached")
        return None

    async def _hello(self, session: Session, hello: Hello) -> ServerMessage:
        refused = hello_refusal(hello, session.state, self._settings, self._throttle)
        if refused is not None:
            return refused
        state = session.state
        state.said_hello = True
        state.subscriptions = frozenset(hello.subscribe)
        state.client_name = hello.client_name
        if hello.user:
            state.user = hello.user
        if hello.character_id is not None:
            failure = await self.attach(session, hello.character_id, hello.message_id)
            if failure is not None:
                return failure
        return HelloResponse(
            message_id=hello.message_id,
            protocol_version=PROTOCOL_VERSION,
            server_version=_server_version(),
            session_id=state.session_id,
            capabilities=sorted(CLIENT_MESSAGE_TYPES),
        )

    async def _characters(self, request: CharactersRequest) -> CharactersResponse:
        # Parsing YAML files is blocking I/O: keep it off the event loop.
        summaries = await asyncio.to_thread(list_characters, self._characters_dir)
        listed = [
            CharacterListing(
                character_id=summary.id,
                name=summary.name or summary.id,
                archetype=summary.archetype,
                description=summary.description or None,
                state=self._pool.state(summary.id) or ("stopped" if summary.ok else "failed"),
            )
            for summary in summaries
        ]
        return characters_page(request, listed)

    def _cancel_request(self, session: Session, request: CancelRequest) -> CancelResponse:
        found = self._cancel(session.session_id, request.target_message_id)
        return CancelResponse(
            message_id=request.message_id,
            success=found,
            target_message_id=request.target_message_id,
            error=None
            if found
            else f"No request with message_id {request.target_message_id!r} is in flight "
            "on this session.",
        )

    def _workers(self) -> list[WorkerInfo]:
        attached: dict[str, int] = {}
        for session in self._sessions.values():
            if session.state.character_id is not None:
                attached[session.state.character_id] = (
                    attached.get(session.state.character_id, 0) + 1
                )
        return [
            WorkerInfo(
                character_id=s.character_id,
                pid=s.pid,
                state=s.state,
                uptime_s=s.uptime_s,
                restarts=s.restarts,
                rss_bytes=s.rss_bytes,
                uss_bytes=s.uss_bytes,
                sessions=attached.get(s.character_id, 0),
                generation=s.generation,
                debug_port=s.debug_port,
                last_crash=s.last_crash,
                code_generation=s.code_generation,
                code_loaded_at=_iso(s.code_loaded_at),
                stale=s.stale,
                node=s.node,
            )
            for s in sorted(self._pool.snapshots(), key=lambda s: s.character_id)
        ]

    async def _restart(self, request: RestartRequest) -> ServerMessage:
        failure = _admin_target_refusal(request.character_id, request.message_id)
        if failure is not None:
            return failure
        try:
            async with asyncio.timeout(self._settings.gateway.request_timeout_s):
                stale = await self._pool.restart(request.character_id)
        except PoolError as exc:
            return error_for(request.message_id, exc.code, str(exc))
        return RestartResponse(message_id=request.message_id, character_id=request.character_id,
                               stale=stale)

    async def _reload(self, request: ReloadRequest) -> ServerMessage:
        for character_id in request.character_ids:
            failure = _admin_target_refusal(character_id, request.message_id)
            if failure is not None:
                return failure
        try:
            outcome = await self._pool.reload(request.character_ids)
        except PoolError as exc:
            return error_for(request.message_id, exc.code, str(exc))
        return reload_response(outcome, request.message_id)

    async def _debug(self, request: DebugRequest) -> ServerMessage:
        failure = _admin_target_refusal(request.character_id, request.message_id)
        if failure is not None:
            return failure
        try:
            async with asyncio.timeout(self._settings.gateway.request_timeout_s):
                port = await self._pool.start_debugger(
                    request.character_id, request.port or None, request.wait
                )
        except PoolError as exc:
            return error_for(request.message_id, exc.code, str(exc))
        except TimeoutError:
            # Waiting for a (re)starting worker plus debugpy's own start can outlast it.
            return error_for(
                request.message_id,
                ErrorCode.TIMEOUT,
                f"{request.character_id!r}: the debugger was not listening within "
                f"{self._settings.gateway.request_timeout_s:g} s (the worker was not ready yet, or "
                "debugpy was slow to start); see `greenroom ps`, then retry.",
            )
        pid = next(
            (s.pid for s in self._pool.snapshots() if s.character_id == request.character_id),
            None,
        )
        return DebugResponse(
            message_id=request.message_id,
            character_id=request.character_id,
            pid=pid,
            port=port,
        )


def reload_response(outcome: ReloadOutcome, message_id: str | None = None) -> ReloadResponse:
    """The ``reload_response`` saying what ``outcome`` says."""
    return ReloadResponse(
        message_id=message_id,
        success=outcome.ok,
        code_generation=outcome.code_generation,
        code_reloaded=outcome.code_reloaded,
        characters=[CharacterReloadInfo(character_id=c.character_id, result=c.result,
                                        detail=c.detail, generation=c.generation)
                    for c in outcome.characters],
        supervisor_files=list(outcome.supervisor_files),
        error=outcome.code_error,
        traceback=outcome.code_traceback,
    )


def _iso(epoch_s: float | None) -> str | None:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat() if epoch_s is not None else None


def _admin_target_refusal(character_id: str, message_id: str | None) -> ErrorResponse | None:
    if is_valid_character_id(character_id):
        return None
    return error_for(
        message_id, ErrorCode.CHARACTER_NOT_FOUND, f"{character_id!r} is not a character id."
    )
