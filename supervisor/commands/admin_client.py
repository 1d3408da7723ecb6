"""Talk to a running supervisor's gateway with the admin messages (``ps``, ``restart``,
``reload``, ``debug``).

One short WebSocket session: ``hello`` (with the token when one is given), then one admin
request, then close. Uses the ``websockets`` client directly: these commands must work even
when the chat client library is broken.
"""

from __future__ import annotations

import asyncio
import secrets

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidStatus, WebSocketException

from protocol.admin import (
    DebugRequest,
    DebugResponse,
    ReloadRequest,
    ReloadResponse,
    RestartRequest,
    RestartResponse,
    WorkersRequest,
    WorkersResponse,
)
from protocol.errors import ErrorResponse, ProtocolError
from protocol.json_codec import decode_server_message, encode_client_message
from protocol.session import Hello, HelloResponse
from protocol.states import PROTOCOL_VERSION
from protocol.unions import ClientMessage, ServerMessage

AdminRequest = WorkersRequest | RestartRequest | ReloadRequest | DebugRequest
AdminResponse = WorkersResponse | RestartResponse | ReloadResponse | DebugResponse


class AdminError(Exception):
    """The supervisor could not be reached or refused the request; ``code`` is the protocol
    error code (``unreachable`` when there was no answer at all)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


async def admin_request(
    server_url: str, request: AdminRequest, *, token: str | None, timeout_s: float = 30.0
) -> AdminResponse:
    """Send one admin request; returns its response or raises ``AdminError``. A
    ``reload_response`` is returned also when it reports a failure: it says what failed
    for each character, which the caller prints."""
    try:
        async with asyncio.timeout(timeout_s), connect(
            server_url, open_timeout=min(timeout_s, 5.0), compression=None
        ) as ws:
            hello = Hello(message_id=f"hello-{secrets.token_hex(4)}",
                          protocol_version=PROTOCOL_VERSION, client_name="greenroom-cli",
                          token=token)
            answer = await _ask(ws, hello)
            if not isinstance(answer, HelloResponse) or not answer.success:
                raise AdminError(_code(answer), _text(answer))
            response = await _ask(ws, request)
    except TimeoutError:
        raise AdminError("timeout", f"no answer from {server_url} within {timeout_s:g} s"
                         ) from None
    except InvalidStatus as exc:
        body = exc.response.body or b""
        reason = body.decode("utf-8", "replace").strip() or "no reason given"
        raise AdminError(
            "refused",
            f"{server_url} refused the connection (HTTP {exc.response.status_code}): {reason}",
        ) from None
    except (OSError, InvalidHandshake) as exc:
        raise AdminError(
            "unreachable",
            f"cannot reach a greenroom server at {server_url} ({exc}); is `greenroom serve` "
            "running? (--server-url / GREENROOM_SERVER_URL)") from None
    except WebSocketException as exc:
        raise AdminError("unreachable", f"connection to {server_url} failed: {exc}") from None
    if isinstance(response, ReloadResponse):
        return response
    if isinstance(response, WorkersResponse | RestartResponse | DebugResponse):
        if not response.success:
            raise AdminError("failed", response.error or "the request failed")
        return response
    raise AdminError(_code(response), _text(response))


async def _ask(ws: ClientConnection, message: ClientMessage) -> ServerMessage:
    await ws.send(encode_client_message(message))
    while True:
        raw = await ws.recv()
        try:
            reply = decode_server_message(raw)
        except ProtocolError:
            continue  # not ours to judge here; wait for the answer to our request
        if reply.message_id == message.message_id:
            return reply


def _code(message: ServerMessage) -> str:
    return message.error_code if isinstance(message, ErrorResponse) else "failed"


def _text(message: ServerMessage) -> str:
    if isinstance(message, ErrorResponse):
        return message.error
    error = getattr(message, "error", None)
    return str(error) if error else f"unexpected answer {type(message).__name__}"
