"""Admission: what a decoded request must satisfy before the gateway handles it, and the token
check of ``hello``.

No I/O: plain functions over the session's state (which ``hello_refusal`` updates), the
settings and the token throttle (``auth_throttle.py``). A refusal is an ``ErrorResponse``
carrying the request's ``message_id``; ``None`` admits. The checks, in this order:

* the gateway is stopping → ``shutting_down``;
* a token is set and the session has not presented it → ``unauthorized`` (only ``hello``
  may carry it);
* a character request before the session is attached → ``not_initialized``;
* an admin request from a connection that may be a web page → ``forbidden``;
* a ``chat_request`` over ``max_message_chars`` → ``message_too_long``, before it takes a turn
  slot or crosses a pipe (the worker checks too).
"""

from __future__ import annotations

import math
from typing import Any, Final

from protocol.chat import ChatRequest
from protocol.errors import ErrorCode, ErrorResponse
from protocol.message_limit import check_message_length
from protocol.session import Hello
from protocol.states import PROTOCOL_VERSION
from runtime.settings import Settings
from supervisor.gateway.access import token_matches
from supervisor.gateway.auth_throttle import AuthThrottle
from supervisor.gateway.request_kinds import ALLOWED_BEFORE_AUTH, is_admin, needs_character
from supervisor.gateway.router import error_for
from supervisor.gateway.session import SHUTDOWN_REASON, SessionState

MAX_FAILED_AUTH_ATTEMPTS: Final = 3
"""A session that sends this many ``hello`` frames with a wrong token is closed (1008)."""


def refusal(
    state: SessionState, message: Any, message_type: str, settings: Settings, *, closing: bool
) -> ErrorResponse | None:
    """Why the session may not send ``message`` now (see the module docstring), or ``None``."""
    message_id = message.message_id
    if closing:
        return error_for(message_id, ErrorCode.SHUTTING_DOWN, f"{SHUTDOWN_REASON}.")
    if not state.authenticated and message_type not in ALLOWED_BEFORE_AUTH:
        return error_for(
            message_id,
            ErrorCode.UNAUTHORIZED,
            "This server requires a token: send hello with token first (or connect with "
            "'Authorization: Bearer <token>').",
        )
    if needs_character(message_type) and state.character_id is None:
        return error_for(
            message_id,
            ErrorCode.NOT_INITIALIZED,
            f"{message_type} needs a character: send init_request (or hello with "
            "character_id) first.",
        )
    if is_admin(message_type) and not may_administer(state, settings):
        return error_for(
            message_id,
            ErrorCode.FORBIDDEN,
            f"{message_type} is an admin request and this connection carried an Origin header "
            f"({state.origin!r}): it may come from a web page. Use `greenroom ps`/`restart`/"
            "`debug` (they send no Origin), or start the server with --token "
            "(GREENROOM_TOKEN) and present it from the page.",
        )
    if isinstance(message, ChatRequest):
        too_long = check_message_length(message.user_message, settings.engine.max_message_chars)
        if too_long is not None:
            assert state.character_id is not None  # needs_character() made sure of it
            return ErrorResponse(
                message_id=message_id,
                error=too_long.text(state.character_id),
                error_code=ErrorCode.MESSAGE_TOO_LONG,
                details=too_long.details(),
            )
    return None


def may_administer(state: SessionState, settings: Settings) -> bool:
    """Admin requests: any client without an ``Origin`` (not a web page); a page only when a
    token is configured and this session presented it."""
    if state.origin is None:
        return True
    return settings.gateway.token is not None and state.authenticated


def hello_refusal(
    hello: Hello, state: SessionState, settings: Settings, throttle: AuthThrottle
) -> ErrorResponse | None:
    """Check ``hello``'s protocol version and, for a session not yet authenticated, its token:
    a right token authenticates the session (and clears its address in the throttle), a wrong
    one counts against the session and, when presented, against its address."""
    if hello.protocol_version > PROTOCOL_VERSION:
        return ErrorResponse(
            message_id=hello.message_id,
            error=f"protocol_version {hello.protocol_version} is newer than this server "
            f"speaks ({PROTOCOL_VERSION}); reconnect announcing {PROTOCOL_VERSION}.",
            error_code=ErrorCode.UNSUPPORTED_PROTOCOL_VERSION.value,
            details={"supported": [PROTOCOL_VERSION]},
        )
    if state.authenticated:
        return None
    retry_after = throttle.retry_after(state.address)
    if retry_after > 0:
        return error_for(
            hello.message_id,
            ErrorCode.UNAUTHORIZED,
            f"too many wrong tokens from {state.address} (or from all addresses together); "
            f"retry in {math.ceil(retry_after)} s with the server's GREENROOM_TOKEN.",
        )
    if not token_matches(hello.token, settings.gateway.token):
        state.failed_auth_attempts += 1
        if hello.token is not None:
            throttle.failed(state.address)
        return error_for(
            hello.message_id,
            ErrorCode.UNAUTHORIZED,
            "hello.token is missing or wrong; send the server's GREENROOM_TOKEN.",
        )
    throttle.succeeded(state.address)
    state.authenticated = True
    return None


def close_after_hello(state: SessionState, throttle: AuthThrottle) -> str | None:
    """The reason to close the session (1008) once its ``hello`` was answered: too many wrong
    tokens from it, or from its address. ``None``: it stays."""
    if state.failed_auth_attempts >= MAX_FAILED_AUTH_ATTEMPTS:
        return "too many hello frames with a wrong token"
    if not state.authenticated and throttle.retry_after(state.address) > 0:
        return "too many wrong tokens from this address"
    return None
