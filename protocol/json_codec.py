"""JSON text codec for the WebSocket side: one message per text frame.

Decoding raises only ``ProtocolError``, classified as:

* ``binary_not_supported`` — bytes where a text frame is expected;
* ``payload_too_large`` — more than ``max_bytes`` of UTF-8;
* ``bad_json`` — not JSON, or not encodable as UTF-8 (lone surrogates);
* ``bad_request`` — JSON, but not an object, no string ``message_type``, fields missing,
  of the wrong type or out of range, or nested deeper than the interpreter's recursion limit
  (about 1000 levels; such a frame's ``message_id`` cannot be read);
* ``unknown_message_type`` — an object whose ``message_type`` the receiver does not accept.

The error carries the frame's ``message_id`` whenever the frame is a JSON object with a string
``message_id``, however broken the rest is. The classification runs only on the failure path,
so valid frames cost one msgspec decode.
"""

from __future__ import annotations

from typing import Any, Final, TypeVar, get_args

import msgspec

from protocol.errors import ErrorCode, ProtocolError
from protocol.messages import ErrorResponse
from protocol.unions import (
    CLIENT_MESSAGE_TYPES,
    ClientMessage,
    ServerMessage,
    message_type_of,
)

DEFAULT_MAX_BYTES: Final = 1024 * 1024
"""Default limit on one incoming frame: 1 MiB of UTF-8."""

T = TypeVar("T")

_client_decoder: msgspec.json.Decoder[ClientMessage] = msgspec.json.Decoder(ClientMessage)
_server_decoder: msgspec.json.Decoder[ServerMessage] = msgspec.json.Decoder(ServerMessage)
_encoder: Final = msgspec.json.Encoder()

_SERVER_MESSAGE_TYPES: Final[frozenset[str]] = frozenset(
    message_type_of(cls) for cls in get_args(ServerMessage)
)


def decode_client_message(
    data: str | bytes, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> ClientMessage:
    """Decode one client frame (a WebSocket text frame) into a message.

    ``bytes`` are refused with ``binary_not_supported``: the protocol is text frames only.
    """
    return _decode(data, _client_decoder, CLIENT_MESSAGE_TYPES, max_bytes)


def decode_server_message(
    data: str | bytes, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> ServerMessage:
    """Client side: decode one server frame. Same errors as ``decode_client_message``."""
    return _decode(data, _server_decoder, _SERVER_MESSAGE_TYPES, max_bytes)


def encode_server_message(message: ServerMessage) -> str:
    """Encode a server message as one JSON text frame.

    ``None`` fields are written as ``null`` so seed-era clients find every key they expect.
    Raises ``ProtocolError`` (``internal``, with the message's id) when a free-form field
    holds something JSON cannot carry; answer it with ``error_response_for``.
    """
    return _encode(message)


def encode_client_message(message: ClientMessage) -> str:
    """Client side: encode a request as one JSON text frame (errors as for the server side)."""
    return _encode(message)


def error_response_for(exc: ProtocolError) -> ErrorResponse:
    """The ``error_response`` that answers a frame that failed with ``exc``."""
    return ErrorResponse(
        message_id=exc.message_id,
        error=exc.message,
        error_code=exc.code.value,
        details=exc.details,
    )


def _encode(message: ServerMessage | ClientMessage) -> str:
    try:
        return _encoder.encode(message).decode()
    except (TypeError, ValueError, OverflowError, msgspec.EncodeError) as exc:
        raise ProtocolError(
            ErrorCode.INTERNAL,
            f"Cannot encode {type(message).__name__} as JSON: {exc}.",
            message.message_id,
        ) from None


def _decode(
    data: str | bytes,
    decoder: msgspec.json.Decoder[T],
    accepted_types: frozenset[str],
    max_bytes: int,
) -> T:
    if isinstance(data, bytes | bytearray | memoryview):
        raise ProtocolError(
            ErrorCode.BINARY_NOT_SUPPORTED,
            "Binary WebSocket frames are not supported; send each message as one JSON object "
            "in a text frame.",
            _probe_message_id(bytes(data[:max_bytes])) if len(data) <= max_bytes else None,
        )
    if _utf8_length_exceeds(data, max_bytes):
        raise ProtocolError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"Frame is larger than the {max_bytes}-byte limit; send a shorter message.",
            details={"max_bytes": max_bytes},
        )
    try:
        return decoder.decode(data)
    except (msgspec.DecodeError, UnicodeError, RecursionError) as exc:
        raise _classify_failure(data, exc, accepted_types) from None


def _utf8_length_exceeds(text: str, max_bytes: int) -> bool:
    # One UTF-8 byte per character at least, four at most: encode only when it could matter.
    if len(text) > max_bytes:
        return True
    if len(text) * 4 <= max_bytes:
        return False
    return len(text.encode("utf-8", "surrogatepass")) > max_bytes


def _classify_failure(data: str, exc: Exception, accepted_types: frozenset[str]) -> ProtocolError:
    try:
        parsed: Any = msgspec.json.decode(data)
    except RecursionError:
        # msgspec refuses nesting deeper than the interpreter's recursion limit, even in
        # fields it would skip, so not even the message_id can be read.
        return ProtocolError(
            ErrorCode.BAD_REQUEST,
            "Frame is nested too deeply to decode; flatten the free-form fields.",
        )
    except UnicodeError as encoding_exc:
        return ProtocolError(ErrorCode.BAD_JSON, f"Frame is not valid UTF-8: {encoding_exc}.")
    except msgspec.DecodeError as parse_exc:
        return ProtocolError(ErrorCode.BAD_JSON, f"Frame is not valid JSON: {parse_exc}.")
    if not isinstance(parsed, dict):
        return ProtocolError(
            ErrorCode.BAD_REQUEST,
            f"Frame must be a JSON object with a message_type, got {type(parsed).__name__}.",
        )
    raw_id = parsed.get("message_id")
    message_id = raw_id if isinstance(raw_id, str) else None
    message_type = parsed.get("message_type")
    if not isinstance(message_type, str):
        return ProtocolError(
            ErrorCode.BAD_REQUEST,
            "Frame has no string message_type; every message names its type "
            '(e.g. "message_type": "ping_request").',
            message_id,
        )
    if message_type not in accepted_types:
        accepted = ", ".join(sorted(accepted_types))
        return ProtocolError(
            ErrorCode.UNKNOWN_MESSAGE_TYPE,
            f"Unknown message_type {message_type!r}; accepted: {accepted}.",
            message_id,
            {"message_type": message_type},
        )
    return ProtocolError(
        ErrorCode.BAD_REQUEST,
        f"Invalid {message_type}: {exc}. Fix the field and resend.",
        message_id,
    )


def _probe_message_id(data: bytes) -> str | None:
    """The ``message_id`` of a frame that is a JSON object, else ``None``; never raises."""
    try:
        parsed: Any = msgspec.json.decode(data)
    except (msgspec.DecodeError, UnicodeError, RecursionError):
        return None
    if isinstance(parsed, dict):
        raw_id = parsed.get("message_id")
        return raw_id if isinstance(raw_id, str) else None
    return None
