"""How a request that fails is answered: every failure as one ``error_response`` with a
stable code (``EngineError.code``, ``BackendError.code``, ``cancelled``, ``storage_error``,
``internal``), and an answer the pipe cannot carry as ``answer_too_large`` (saying what to
ask for instead) or ``internal`` — never left to the gateway's timeout."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from typing import Any, Final

import structlog

from protocol.errors import ErrorCode, ErrorResponse, ProtocolError
from protocol.pipe import WorkerReply, WorkerRequest
from worker.backends.base import BackendError
from worker.engine.errors import EngineError

log = structlog.get_logger()


class RequestFailed(Exception):
    """A request ends with this ``error_response`` code, text and details."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


@dataclass(frozen=True, slots=True)
class Failure:
    """The ``error_response`` one request ends with."""

    code: str
    message: str
    details: dict[str, Any] | None = None

    def reply_to(self, request: WorkerRequest) -> WorkerReply:
        error = ErrorResponse(message_id=request.message.message_id, error=self.message,
                              error_code=self.code, details=self.details)
        return WorkerReply(request_id=request.request_id, message=error)


def failure_of(problem: BaseException, *, character_id: str, asked: str) -> Failure:
    """The answer to request ``asked`` (its message type) that raised ``problem``; logs what
    the worker log must keep (a traceback for storage and unexpected failures)."""
    match problem:
        case asyncio.CancelledError():
            log.info("request_cancelled", request=asked)
            return Failure("cancelled", f"request to character {character_id!r} was "
                           "cancelled; nothing was committed for it")
        case RequestFailed() | EngineError():
            return Failure(problem.code, problem.message, problem.details)
        case BackendError():
            log.warning("llm_failed", code=problem.code, error=str(problem))
            return Failure(problem.code, f"character {character_id!r}: {problem}",
                           problem.details)
        case sqlite3.Error() | OSError():
            log.error("storage_failed", request=asked, exc_info=problem)
            return Failure(
                "storage_error",
                f"character {character_id!r} could not read or write its database "
                f"({type(problem).__name__}: {problem}); nothing of this request was "
                "committed and the last good state is kept. Check free disk space and that "
                "the data directory is writable.")
        case _:
            log.error("request_failed", request=asked, exc_info=problem)
            return Failure(
                "internal",
                f"character {character_id!r} failed on {asked}: {type(problem).__name__}: "
                f"{problem}. The worker log has the traceback.")


def undeliverable(problem: ProtocolError, *, character_id: str, answer: str,
                  asked: str) -> Failure:
    """The answer to request ``asked`` when its ``answer`` (a message type) could not be
    sent: too large for a pipe frame, or not encodable."""
    if problem.code is ErrorCode.PAYLOAD_TOO_LARGE:
        log.error("answer_too_large", response=answer, **(problem.details or {}))
        return Failure(
            ErrorCode.ANSWER_TOO_LARGE,
            f"character {character_id!r}: the {answer} to this {asked} is "
            f"{(problem.details or {}).get('size', '?')} bytes, over the worker pipe's "
            f"frame limit, so it cannot be sent. {smaller_answer(asked)}",
            problem.details)
    log.error("answer_unencodable", response=answer, error=problem.message)
    return Failure(
        ErrorCode.INTERNAL,
        f"character {character_id!r} could not encode its {answer} to this {asked} "
        f"({problem.message}): the request was carried out but its answer is lost. This "
        "is a bug: the worker log has the record (answer_unencodable); report it.")


def smaller_answer(asked: str) -> str:
    """What to ask for instead of an answer to ``asked`` too large for a pipe frame."""
    return _SMALLER_ANSWER.get(asked, _PAGES)


_PAGES: Final = ("Ask for less at a time: list answers take `offset`/`limit` "
                 "(`history_offset`/`history_limit` for a status' history).")
_SMALLER_ANSWER: Final[dict[str, str]] = {
    "export_request": "Export it streamed instead: `export_request` with `stream: true` "
                      "(`/export FILE` in `greenroom chat` does).",
    "status_request": "Ask for the history in smaller pages (`history_limit`).",
    "memory_search_request": "Ask for fewer memories (a smaller `limit`).",
}
