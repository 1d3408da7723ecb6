"""Typed exceptions of the client library, each carrying a stable error code.

Server failures keep the protocol's ``error_code`` (``protocol.ErrorCode`` values, kept as
``str`` so codes added by a newer server still arrive intact). Failures that happen on the
client side of the wire use the client codes below; they never collide with protocol codes.
"""

from __future__ import annotations

from typing import Any, Final

from protocol.errors import ErrorCode

CONNECTION_FAILED: Final = "connection_failed"
"""No server answered at the URL after every connection attempt."""

CONNECTION_LOST: Final = "connection_lost"
"""The connection dropped while a request was in flight; the request's outcome is unknown."""

PROTOCOL_VIOLATION: Final = "protocol_violation"
"""The server sent a frame the client cannot decode or did not expect."""

CLIENT_CODE_MEANINGS: Final[dict[str, str]] = {
    CONNECTION_FAILED: "No server answered; start one with `greenroom serve` or use --local.",
    CONNECTION_LOST: "The connection dropped mid-request; the client reconnects by itself.",
    PROTOCOL_VIOLATION: "The server sent an undecodable or unexpected frame.",
}


class GreenroomError(Exception):
    """A request failed. ``code`` is a protocol ``ErrorCode`` value or a client code above;
    ``message`` is for a human and says what happened and what to do."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        code = str(code)  # an ErrorCode member becomes its plain wire value
        super().__init__(f"{message} [{code}]")
        self.code = code
        self.message = message
        self.details = details

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class ConnectionFailed(GreenroomError):
    """No server could be reached (every attempt refused or timed out)."""


class ConnectionLost(GreenroomError):
    """The connection dropped with this request in flight."""


class RequestTimeout(GreenroomError):
    """No answer within the request timeout (client side), or the server's own ``timeout``."""


class Cancelled(GreenroomError):
    """The generation was cancelled; nothing was committed for it."""


class CharacterNotFound(GreenroomError):
    """No character with that id is configured."""


class CharacterUnavailable(GreenroomError):
    """The character is restarting, quarantined, or its worker died mid-request."""


class InvalidName(GreenroomError):
    """A snapshot name was refused (a path, ``..``, a separator, empty, ...)."""


class NothingToUndo(GreenroomError):
    """Undo or regenerate found no turn of this session's user to act on."""


class SnapshotNotFound(GreenroomError):
    """No snapshot with that name exists for the character."""


class LLMFailure(GreenroomError):
    """The character's LLM server is unreachable, lacks the model, or answered an error."""


class Unauthorized(GreenroomError):
    """The server wants a token (``--token`` / ``GREENROOM_TOKEN``) or refused this one."""


_CLASS_BY_CODE: Final[dict[str, type[GreenroomError]]] = {
    CONNECTION_FAILED: ConnectionFailed,
    CONNECTION_LOST: ConnectionLost,
    ErrorCode.TIMEOUT: RequestTimeout,
    ErrorCode.CANCELLED: Cancelled,
    ErrorCode.CHARACTER_NOT_FOUND: CharacterNotFound,
    ErrorCode.CHARACTER_UNAVAILABLE: CharacterUnavailable,
    ErrorCode.CHARACTER_RESTARTING: CharacterUnavailable,
    ErrorCode.WORKER_CRASHED: CharacterUnavailable,
    ErrorCode.INVALID_NAME: InvalidName,
    ErrorCode.NOTHING_TO_UNDO: NothingToUndo,
    ErrorCode.SNAPSHOT_NOT_FOUND: SnapshotNotFound,
    ErrorCode.LLM_UNAVAILABLE: LLMFailure,
    ErrorCode.LLM_ERROR: LLMFailure,
    ErrorCode.UNAUTHORIZED: Unauthorized,
    ErrorCode.FORBIDDEN: Unauthorized,
}


def error_for(code: str, message: str, details: dict[str, Any] | None = None) -> GreenroomError:
    """The most specific ``GreenroomError`` subclass for ``code`` (the base class otherwise)."""
    return _CLASS_BY_CODE.get(code, GreenroomError)(code, message, details)
