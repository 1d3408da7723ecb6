"""The events a request causes, for the gateway to fan out to subscribed sessions: a
``turn_event`` after a committed turn, a ``vitals_event`` whenever the vitals changed."""

from __future__ import annotations

from protocol.chat import ChatRequest
from protocol.events import TurnEvent, VitalsEvent
from protocol.pipe import WorkerEvent, WorkerRequest
from worker.engine.character_engine import CharacterEngine
from worker.engine.results import TurnResult


def vitals_event(engine: CharacterEngine, cause: str, turn: TurnResult | None = None
                 ) -> WorkerEvent:
    """The ``vitals_event`` of every cause: the full current set, as a status reports it
    (levels, mood, per-level baselines and last-turn changes), and the mood's intensity.
    After ``turn`` it carries that turn's own levels, mood, intensity, mood before and
    changes — the numbers of its ``chat_response`` — so every client shows the same ones."""
    vitals = engine.status(include_vitals=True).vitals or {}
    character_id = engine.character.id
    if turn is not None:
        # The levels the turn left, exactly as its chat_response has them (the report's are
        # the same moment, rounded).
        vitals = {**vitals, **turn.vitals, "mood": turn.mood,
                  "mood_intensity": turn.mood_intensity}
        return WorkerEvent(message=VitalsEvent(
            character_id=character_id, vitals=vitals, mood=turn.mood, cause=cause,
            mood_intensity=turn.mood_intensity, previous_mood=turn.previous_mood,
            vitals_delta=dict(turn.vitals_delta), user=turn.user))
    mood, intensity = vitals.get("mood"), vitals.get("mood_intensity")
    return WorkerEvent(message=VitalsEvent(
        character_id=character_id, vitals=vitals,
        mood=mood if isinstance(mood, str) else None, cause=cause,
        mood_intensity=float(intensity) if isinstance(intensity, int | float) else None))


def turn_event(character_id: str, request: WorkerRequest, result: TurnResult) -> WorkerEvent:
    """The ``turn_event`` of turn ``result``, committed for ``request``."""
    message = request.message
    return WorkerEvent(message=TurnEvent(
        character_id=character_id, user=result.user,
        user_message=message.user_message if isinstance(message, ChatRequest) else "",
        response_text=result.response_text, turn_index=result.turn_index,
        session_id=request.session_id))
