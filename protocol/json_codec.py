"""JSON text codec for the WebSocket side: one message per text frame.

Decoding raises only ``ProtocolError``, classified as:

* ``binary_not_supported`` — bytes where a text frame is expected;
* ``payload_too_large`` — more than ``max_bytes`` of UTF-8;
* ``bad_json`` — not JSON, or JSON that greenroom cannot carry: a lone surrogate escape
  (``"\\ud800"``), an integer beyond 64 bits, a float beyond double range, ``NaN``; for
  those (which Python's ``json`` module reads) the error names the problem and carries the
  frame's ``message_id``;
* ``bad_request`` — JSON, but not an object, no string ``message_type``, fields missing,
  of the wrong type or out of range, or nested deeper than ``MAX_NESTING_DEPTH`` levels
  (checked before decoding, the same on every Python version; such a frame's
  ``message_id`` is not read);
* ``unknown_message_type`` — an object whose ``message_type`` the receiver does not accept.

The error carries the frame's ``message_id`` whenever the frame is a JSON object with a string
``message_id``, however broken the rest is. The classification runs only on the failure path,
so valid frames cost one msgspec decode plus the nesting check (two ``str.count`` passes
for a frame with at most ``MAX_NESTING_DEPTH`` opening brackets).
"""

from __future__ import annotations

import json
import re
from typing import Any, Final, TypeVar

import msgspec

from protocol.errors import ErrorCode, ErrorResponse, ProtocolError
from protocol.nesting import MAX_NESTING_DEPTH, json_nesting_exceeds
from protocol.unions import (
    CLIENT_MESSAGE_TYPES,
    SERVER_MESSAGE_TYPES,
    ClientMessage,
    ServerMessage,
)

DEFAULT_MAX_BYTES: Final = 1024 * 1024
"""Default limit on one incoming frame: 1 MiB of UTF-8."""

T = TypeVar("T")

_client_decoder: msgspec.json.Decoder[ClientMessage] = msgspec.json.Decoder(ClientMessage)
_server_decoder: msgspec.json.Decoder[ServerMessage] = msgspec.json.Decoder(ServerMessage)
_encoder: Final = msgspec.json.Encoder()


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
    return _decode(data, _server_decoder, SERVER_MESSAGE_TYPES, max_bytes)


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
    if json_nesting_exceeds(data):
        raise ProtocolError(
            ErrorCode.BAD_REQUEST,
            f"Frame nests arrays/objects deeper than {MAX_NESTING_DEPTH} levels, greenroom's "
            "limit; flatten the free-form fields.",
            details={"max_depth": MAX_NESTING_DEPTH},
        )
    try:
        return decoder.decode(data)
    except (msgspec.DecodeError, UnicodeError) as exc:
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
    except UnicodeError as encoding_exc:
        return ProtocolError(ErrorCode.BAD_JSON, f"Frame is not valid UTF-8: {encoding_exc}.")
    except msgspec.DecodeError as parse_exc:
        return _unreadable_json(data, parse_exc)
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


_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_INT_RANGE: Final = range(-(2**63), 2**64)
"""What msgspec reads as an integer: int64 and uint64."""


def _unreadable_json(data: str, exc: msgspec.DecodeError) -> ProtocolError:
    """``bad_json`` for a frame msgspec cannot read. When Python's ``json`` module reads it,
    the message names what greenroom cannot carry and the error echoes the ``message_id``;
    otherwise the frame is not JSON at all and msgspec's reason is given."""
    problems: list[str] = []

    def integer(digits: str) -> int:
        # Length first: int() of a huge digit string is refused (and quadratic) anyway.
        if len(digits.lstrip("-")) > 20 or int(digits) not in _INT_RANGE:
            problems.append(f"an integer of {len(digits.lstrip('-'))} digits, outside the "
                            "64-bit range (-2**63 to 2**64-1)")
        return 0

    def number(text: str) -> float:
        value = float(text)
        if value in (float("inf"), float("-inf")):
            problems.append(f"the number {text[:40]}, beyond a 64-bit float's range")
        return 0.0

    def constant(name: str) -> None:
        problems.append(f"{name}, which is not JSON")

    try:
        parsed = json.loads(data, parse_int=integer, parse_float=number,
                            parse_constant=constant)
    except ValueError:
        return ProtocolError(ErrorCode.BAD_JSON, f"Frame is not valid JSON: {exc}.")
    surrogate = _first_lone_surrogate(parsed)
    if surrogate is not None:
        problems.append(f"a lone surrogate escape (\\u{ord(surrogate):04x}) in a string, "
                        "which is not a character (encode characters beyond U+FFFF as a "
                        "surrogate pair, or as UTF-8)")
    raw_id = parsed.get("message_id") if isinstance(parsed, dict) else None
    what = "; ".join(problems[:3]) if problems else str(exc)
    return ProtocolError(
        ErrorCode.BAD_JSON,
        f"Frame is JSON that greenroom cannot read: it holds {what}. Fix the value and resend.",
        raw_id if isinstance(raw_id, str) else None,
    )


def _first_lone_surrogate(value: Any) -> str | None:
    """The first lone surrogate in any string (key or value) of ``value``; iterative."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found = _SURROGATE.search(item)
            if found is not None:
                return found.group()
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None
