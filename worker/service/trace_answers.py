"""A turn's stored trace, as ``trace_request`` answers it and as the ``turn_trace`` record."""

from __future__ import annotations

import logging

import msgspec
import structlog

from protocol.trace import TraceRequest, TraceResponse
from worker.engine.character_engine import CharacterEngine
from worker.engine.report import iso_time

log = structlog.get_logger()


def trace_response(engine: CharacterEngine, message: TraceRequest) -> TraceResponse:
    """``trace_request``: the turn asked for and its stored trace."""
    found = engine.trace(message.turn_index)
    turn = found.turn
    return TraceResponse(
        message_id=message.message_id, turn_id=turn.id, turn_index=turn.turn_index,
        user=turn.user, user_message=turn.user_message,
        created_at=iso_time(turn.created_at),
        trace=None if found.trace is None else msgspec.to_builtins(found.trace))


def log_trace(engine: CharacterEngine, turn_index: int) -> None:
    """The ``turn_trace`` record of a committed turn, at debug level only (read back from
    the database, so it costs nothing unless debug records are wanted)."""
    if not log.is_enabled_for(logging.DEBUG):
        return
    found = engine.trace(turn_index)
    log.debug("turn_trace", turn_id=found.turn.id, turn_index=turn_index,
              trace=None if found.trace is None else msgspec.to_builtins(found.trace))
