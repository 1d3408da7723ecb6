"""The engine's one exception type and its stable error codes.

Codes are the protocol's ``error_code`` values (see ``PROTOCOL.md``), so the worker can put
``EngineError.code`` on the wire unchanged. Backend failures are not wrapped: a
``BackendError`` reaches the caller with its own ``.code`` (``llm_unavailable`` / ``llm_error``).
"""

from __future__ import annotations

from typing import Any, Final

INVALID_NAME: Final = "invalid_name"
SNAPSHOT_NOT_FOUND: Final = "snapshot_not_found"
NOTHING_TO_UNDO: Final = "nothing_to_undo"
BUSY: Final = "busy"
BAD_REQUEST: Final = "bad_request"
# An export document or database written by a newer greenroom than this one.
UNSUPPORTED_FORMAT: Final = "unsupported_format"
# ``import_document`` into a data directory that already holds this character.
ALREADY_EXISTS: Final = "already_exists"
INTERNAL: Final = "internal"
# Memories people manage (``worker.engine.memory_edits``): no such id, an empty text, too long.
MEMORY_NOT_FOUND: Final = "memory_not_found"
MEMORY_EMPTY: Final = "memory_empty"
MEMORY_TOO_LONG: Final = "memory_too_long"
# A chat message over the configured length (``protocol.message_limit``).
MESSAGE_TOO_LONG: Final = "message_too_long"


class EngineError(Exception):
    """A request the engine refused or could not do; ``code`` is stable, ``message`` says
    what happened, to which character, and what to do; ``details`` (optional) carries the
    figures a client may act on, as ``error_response.details``."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details
