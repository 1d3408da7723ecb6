"""A turn from the engine's stream to the protocol: ``chat_delta`` replies as the text
comes (for ``stream: true``), generation status and keepalives (``turn_progress``), then —
after the engine committed the turn — a ``turn_event`` and a ``vitals_event``, and the
final ``chat_response``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

import structlog

from protocol.chat import ChatDelta, ChatResponse
from protocol.pipe import FromWorker, WorkerReply, WorkerRequest
from worker.backends.base import TextDelta
from worker.engine.character_engine import CharacterEngine
from worker.engine.results import TurnResult, TurnStreamEvent
from worker.service.chat_response import chat_response
from worker.service.events import turn_event, vitals_event
from worker.service.failures import RequestFailed
from worker.service.trace_answers import log_trace
from worker.service.turn_progress import TurnProgress

log = structlog.get_logger()


async def answer_turn(request: WorkerRequest, events: AsyncIterator[TurnStreamEvent], *,
                      stream: bool, engine: CharacterEngine, send: Callable[[FromWorker], None],
                      keepalive_s: float) -> ChatResponse:
    """Run the turn ``events`` streams for ``request``; a keepalive goes at least every
    ``keepalive_s`` seconds. Cancelled, it closes the stream at once: nothing is committed."""
    mid = request.message.message_id
    request_id = request.request_id
    result: TurnResult | None = None
    index = 0
    progress = TurnProgress(send, request_id, mid, stream=stream, interval_s=keepalive_s)
    # aclosing: a cancelled turn closes the engine's generator at once, so it commits
    # nothing and frees the engine for the next turn.
    try:
        async with contextlib.aclosing(events) as turn:  # type: ignore[type-var]
            async for event in turn:
                if isinstance(event, TextDelta):
                    if not stream or not event.text:
                        continue
                    delta = ChatDelta(message_id=mid, delta=event.text, index=index)
                    send(WorkerReply(request_id=request_id, message=delta, final=False))
                    if index == 0:  # after the delta: the first token is never delayed
                        progress.enter("streaming")
                    progress.quiet = False
                    index += 1
                elif isinstance(event, TurnResult):
                    result = event
                else:
                    progress.enter_soon("reading_prompt")
    finally:
        progress.stop()
    character_id = engine.character.id
    if result is None:
        raise RequestFailed("internal", f"character {character_id!r} ended a turn "
                            "without a result")
    send(turn_event(character_id, request, result))
    send(vitals_event(engine, "turn", result))
    log.info("turn_committed", turn_id=result.turn_id, turn_index=result.turn_index,
             regenerated=result.regenerated, timings_ms=result.timings_ms)
    log_trace(engine, result.turn_index)
    return chat_response(mid, result)

