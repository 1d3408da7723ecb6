"""The ``chat_response`` of a committed turn: the engine's ``TurnResult`` (its typed records)
shaped once into the protocol's six groups (``protocol.turn_summary``)."""

from __future__ import annotations

from protocol.chat import ChatResponse
from protocol.turn_summary import (
    CharacterInsights,
    CharacterStateSummary,
    CognitiveSummary,
    GenerationInfo,
    MessageAppraisal,
    PerformanceInfo,
    PromptMemory,
    ResponseMetadata,
)
from worker.backends.base import GenerationDone
from worker.engine.results import TurnResult
from worker.engine.turn_record import AppraisalRecord


def chat_response(message_id: str | None, result: TurnResult) -> ChatResponse:
    """The ``chat_response`` to request ``message_id`` whose turn committed as ``result``."""
    return ChatResponse(
        message_id=message_id,
        response_text=result.response_text,
        character_insights=CharacterInsights(
            mood=result.mood, mood_intensity=result.mood_intensity, intent=result.intent),
        response_metadata=ResponseMetadata(
            turn_id=result.turn_id, turn_index=result.turn_index, user=result.user,
            regenerated=result.regenerated,
            incomplete=result.generation.finish_reason == "incomplete",
            vitals_reappraised=result.vitals_reappraised),
        generation_info=_generation_info(result.generation),
        cognitive_summary=CognitiveSummary(
            appraisal=_appraisal(result.appraisal),
            memories_used=[PromptMemory(id=m.id, text=m.text, score=m.score, turn_id=m.turn_id)
                           for m in result.memories_used],
            memories_formed=list(result.memories_formed)),
        character_state_summary=CharacterStateSummary(
            vitals=result.vitals, vitals_delta=result.vitals_delta, mood=result.mood,
            previous_mood=result.previous_mood),
        performance_info=PerformanceInfo(timings_ms=result.timings_ms),
    )


def _generation_info(done: GenerationDone) -> GenerationInfo:
    return GenerationInfo(
        backend=done.backend, model=done.model, finish_reason=done.finish_reason,
        prompt_tokens=done.prompt_tokens, completion_tokens=done.completion_tokens,
        duration_s=done.duration_s, tokens_per_s=done.tokens_per_s,
        usage_source=done.usage_source, extra=done.extra)


def _appraisal(record: AppraisalRecord) -> MessageAppraisal:
    return MessageAppraisal(
        valence=record.valence, arousal=record.arousal, warmth=record.warmth,
        threat=record.threat, curiosity=record.curiosity, humour=record.humour,
        intent=record.intent, sentiment=record.sentiment)
