"""Stable error codes and the one exception that comes out of decoding.

An ``ErrorCode`` value is part of the wire contract: clients branch on it, so a code is never
renamed or reused for a different meaning. ``ERROR_CODE_MEANINGS`` documents each one (what
happened, what the client should do); ``docs/protocol.md`` and the JSON Schema repeat it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from protocol.declaration import failure
from protocol.envelope import Message
from protocol.fields import JsonObject


class ErrorCode(StrEnum):
    """Machine-readable reason carried by ``error_response.error_code``."""

    BAD_JSON = "bad_json"
    BAD_REQUEST = "bad_request"
    BINARY_NOT_SUPPORTED = "binary_not_supported"
    UNKNOWN_MESSAGE_TYPE = "unknown_message_type"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    ANSWER_TOO_LARGE = "answer_too_large"
    MESSAGE_TOO_LONG = "message_too_long"
    UNSUPPORTED_PROTOCOL_VERSION = "unsupported_protocol_version"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_INITIALIZED = "not_initialized"
    CHARACTER_NOT_FOUND = "character_not_found"
    CHARACTER_UNAVAILABLE = "character_unavailable"
    CHARACTER_RESTARTING = "character_restarting"
    WORKER_CRASHED = "worker_crashed"
    TIMEOUT = "timeout"
    BUSY = "busy"
    CANCELLED = "cancelled"
    INVALID_NAME = "invalid_name"
    SNAPSHOT_NOT_FOUND = "snapshot_not_found"
    NOTHING_TO_UNDO = "nothing_to_undo"
    MEMORY_NOT_FOUND = "memory_not_found"
    MEMORY_EMPTY = "memory_empty"
    MEMORY_TOO_LONG = "memory_too_long"
    UNSUPPORTED_FORMAT = "unsupported_format"
    ALREADY_EXISTS = "already_exists"
    STORAGE_ERROR = "storage_error"
    LLM_UNAVAILABLE = "llm_unavailable"
    LLM_ERROR = "llm_error"
    LLM_INCOMPLETE = "llm_incomplete"
    CONTEXT_OVERFLOW = "context_overflow"
    SHUTTING_DOWN = "shutting_down"
    BAD_FRAME = "bad_frame"
    INTERNAL = "internal"


ERROR_CODE_MEANINGS: dict[ErrorCode, str] = {
    ErrorCode.BAD_JSON: (
        "The text frame is not valid JSON (or not valid UTF-8). Fix the encoder; resend."
    ),
    ErrorCode.BAD_REQUEST: (
        "The frame is JSON but not a valid message: not an object, a missing required field, "
        "a field of the wrong type or out of range. The error text names the field; fix it "
        "and resend."
    ),
    ErrorCode.BINARY_NOT_SUPPORTED: (
        "A binary WebSocket frame arrived; every message is one JSON object in a text frame. "
        "Send text frames."
    ),
    ErrorCode.UNKNOWN_MESSAGE_TYPE: (
        "`message_type` is not a request this server accepts (a typo, a server-only type, or a "
        "newer protocol). Check the spelling and the server's `hello_response.capabilities`."
    ),
    ErrorCode.PAYLOAD_TOO_LARGE: (
        "The frame exceeds the server's size limit (reported in `details.max_bytes`). "
        "Send a shorter message."
    ),
    ErrorCode.ANSWER_TOO_LARGE: (
        "The request was fine but its answer is larger than one frame may carry (the limit is "
        "in `details.max_bytes`). Ask for it in pages (`offset`/`limit`, "
        "`history_offset`/`history_limit`) or streamed (`export_request` with `stream: true`)."
    ),
    ErrorCode.MESSAGE_TOO_LONG: (
        "A chat message is longer than the server accepts (`details.max_chars` characters, "
        "GREENROOM_MAX_MESSAGE_CHARS; `details.length` is what arrived). Nothing was sent to "
        "the character. Shorten the message or split it."
    ),
    ErrorCode.UNSUPPORTED_PROTOCOL_VERSION: (
        "`hello.protocol_version` is newer than the server speaks (`details.supported`). "
        "Reconnect announcing a supported version."
    ),
    ErrorCode.UNAUTHORIZED: (
        "No valid token: this server requires one, either as an `Authorization: Bearer` "
        "header on the WebSocket handshake or as `hello.token` before any other request. "
        "Send the configured token (GREENROOM_TOKEN)."
    ),
    ErrorCode.FORBIDDEN: (
        "An admin request (workers, restart, reload, debug) on a connection that sent an `Origin` "
        "header, i.e. possibly a web page, without the server's token. Use the command-line "
        "tools (no `Origin`), or configure GREENROOM_TOKEN and present it."
    ),
    ErrorCode.NOT_INITIALIZED: (
        "The request needs a character but the session is not attached to one. "
        "Send `init_request` first."
    ),
    ErrorCode.CHARACTER_NOT_FOUND: (
        "No character with that id is configured. List them with `characters_request`."
    ),
    ErrorCode.CHARACTER_UNAVAILABLE: (
        "The character is quarantined after repeated crashes (state `failed`). "
        "An operator clears it with `greenroom restart ID` or `restart_request`."
    ),
    ErrorCode.CHARACTER_RESTARTING: (
        "The character's worker is restarting; the session stays attached. "
        "Retry after the `worker_state_event` with state `ready` (or after a short delay)."
    ),
    ErrorCode.WORKER_CRASHED: (
        "The character's worker died while handling this request; the request was lost and "
        "the worker is being restarted. Retry once it is ready."
    ),
    ErrorCode.TIMEOUT: (
        "The request went without progress for longer than a limit and was abandoned; the "
        "text names the limit: GREENROOM_REQUEST_TIMEOUT (no answer and no sign of work), "
        "GREENROOM_LLM_FIRST_TOKEN_TIMEOUT (the LLM sent no first token) or "
        "GREENROOM_LLM_SILENCE_TIMEOUT (the LLM stopped between tokens). Nothing was "
        "committed; retry, or raise that limit."
    ),
    ErrorCode.BUSY: (
        "The character's turn queue is full (GREENROOM_CHAT_QUEUE_DEPTH), or this session has "
        "too many requests in flight (GREENROOM_SESSION_REQUEST_LIMIT). Retry after earlier "
        "answers arrive, or send `cancel_request`."
    ),
    ErrorCode.CANCELLED: (
        "The request was cancelled (by `cancel_request`, or because the server is stopping). "
        "Nothing was committed for it."
    ),
    ErrorCode.INVALID_NAME: (
        "A snapshot name is empty, too long, or contains a path separator, `..`, a NUL or a "
        "control character. Use a plain name like `before-party`."
    ),
    ErrorCode.SNAPSHOT_NOT_FOUND: (
        "No snapshot with that name exists for this character. List them with `snapshots_request`."
    ),
    ErrorCode.NOTHING_TO_UNDO: (
        "`undo_request`/`regenerate_request`/`select_alternative_request` found no turn of "
        "this session's user (`hello.user`, else `user`) to act on: none yet, or only turns "
        "from before a `reset_request`. Nothing was changed."
    ),
    ErrorCode.MEMORY_NOT_FOUND: (
        "No memory of this character has that id (never had, or it was forgotten). List "
        "them with `memories_request`; nothing was changed."
    ),
    ErrorCode.MEMORY_EMPTY: (
        "A memory's text is empty or only whitespace. Say what to remember; nothing was "
        "changed."
    ),
    ErrorCode.MEMORY_TOO_LONG: (
        "A memory's text is longer than a memory may be (`details.max_chars` characters; "
        "`details.length` is what arrived). Shorten it or split it into several memories; "
        "nothing was changed."
    ),
    ErrorCode.UNSUPPORTED_FORMAT: (
        "The character's stored data (its database, or an export document) was written by a "
        "newer greenroom than this server. Upgrade the server; nothing was changed."
    ),
    ErrorCode.ALREADY_EXISTS: (
        "An import names a character that this server's data directory already holds; "
        "nothing was written. Import into an empty data directory, or move that one aside."
    ),
    ErrorCode.STORAGE_ERROR: (
        "The character could not read or write its database (disk full, read-only or "
        "damaged data directory). Nothing of the request was committed and the last good "
        "state is kept. Free disk space or fix the directory's permissions, then retry."
    ),
    ErrorCode.LLM_UNAVAILABLE: (
        "The character's LLM server cannot be reached or lacks the model (the error text "
        "says which). Start the server or pull the model, then retry."
    ),
    ErrorCode.LLM_ERROR: (
        "The LLM server answered with an error or a malformed stream. Retry; the error text "
        "carries the server's message."
    ),
    ErrorCode.LLM_INCOMPLETE: (
        "The LLM server's stream ended before it said the reply was finished (no "
        "`finish_reason`; llama-cpp-python's server does this when another request arrives "
        "unless started with `--interrupt_requests false`). Nothing was committed; "
        "`details.partial_text` holds what streamed. Retry, or commit that text as the reply "
        "by resending the same request with `keep_partial: true`."
    ),
    ErrorCode.CONTEXT_OVERFLOW: (
        "The prompt does not fit the LLM server's context window; `details.prompt_tokens` and "
        "`details.context_tokens` give the sizes when the server said them. Start the server "
        "with a larger context (llama-server `-c`, llama-cpp-python `--n_ctx`, Ollama "
        "GREENROOM_LLM_NUM_CTX) or lower GREENROOM_PROMPT_TOKEN_BUDGET. Nothing was committed."
    ),
    ErrorCode.SHUTTING_DOWN: (
        "The server is shutting down and accepts no new requests. Reconnect later."
    ),
    ErrorCode.BAD_FRAME: (
        "Internal to the worker pipe: a frame between gateway and worker could not be decoded. "
        "Clients never receive it; the gateway restarts the worker and reports "
        "`worker_crashed`."
    ),
    ErrorCode.INTERNAL: (
        "An unexpected server bug. The request id is in the server log; report it."
    ),
}


class ProtocolError(Exception):
    """A frame could not be turned into a message (or a message into a frame).

    The only exception the codecs raise. ``message_id`` is the id the offending frame carried,
    when it could be read, so the error response can echo it.
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        message_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.message_id = message_id
        self.details = details

    def __repr__(self) -> str:
        return (
            f"ProtocolError(code={self.code.value!r}, message={self.message!r}, "
            f"message_id={self.message_id!r})"
        )


@failure(seed=True)
class ErrorResponse(Message, tag="error_response"):
    """Any failure. ``error_code`` is one of ``ErrorCode`` (kept ``str`` so a client decodes
    codes added later); ``error`` is text for a human; ``success`` is always false."""

    error: str
    error_code: str
    details: JsonObject | None = None
    success: bool = False
