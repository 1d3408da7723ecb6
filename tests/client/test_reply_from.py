"""``reply_from``: a decoded ``chat_response`` becomes the client's ``ChatReply`` (pure)."""

from __future__ import annotations

import json
from typing import Any

from client.character import reply_from
from protocol.chat import ChatResponse
from protocol.json_codec import decode_server_message

LEVELS = {"dopamine": 70.0, "serotonin": 71.5, "oxytocin": 74.75, "endorphins": 67.5,
          "cortisol": 32.25, "adrenaline": 39.0}


def answer(**extra: Any) -> dict[str, Any]:
    """A committed turn's ``chat_response`` as a server sends it; ``extra`` adds keys to every
    object (what a newer server might report)."""
    return {
        "message_type": "chat_response", "success": True, "response_text": "Hello, sam!",
        "character_insights": {"mood": "content", "mood_intensity": 0.77, "intent": "greeting",
                               **extra},
        "response_metadata": {"turn_id": 4, "turn_index": 3, "user": "sam",
                              "regenerated": False, "incomplete": False,
                              "vitals_reappraised": True, **extra},
        "generation_info": {"backend": "ollama", "model": "llama3.2", "finish_reason": "stop",
                            "prompt_tokens": 7, "completion_tokens": 4, "duration_s": 2.0,
                            "tokens_per_s": 50.0, "usage_source": "reported",
                            "extra": {"done_reason": "stop"}, **extra},
        "orchestration_summary": None,
        "cognitive_summary": {
            "appraisal": {"valence": 0.67, "arousal": 0.42, "warmth": 0.52, "threat": 0.0,
                          "curiosity": 0.0, "humour": 0.0, "intent": "greeting",
                          "sentiment": 0.67, **extra},
            "memories_used": [{"id": 1, "text": "Sam has a dog.", "score": 0.98, "turn_id": 1,
                               **extra}],
            "memories_formed": ["sam said hello"], **extra},
        "character_state_summary": {"vitals": LEVELS, "vitals_delta": {"dopamine": 6.17},
                                    "mood": "content", **extra},
        "performance_info": {"timings_ms": {"generation": 2.1, "total": 8.4}, **extra},
        "error": None, "message_id": "c-1", "timestamp": "2024-03-01T10:15:02.512000+00:00",
        **extra,
    }


def decoded(frame: dict[str, Any]) -> ChatResponse:
    response = decode_server_message(json.dumps(frame))
    assert isinstance(response, ChatResponse)
    return response


def test_a_reply_carries_the_state_and_the_merged_metadata_of_its_answer() -> None:
    reply = reply_from(decoded(answer()))
    assert (reply.text, reply.mood, reply.mood_intensity) == ("Hello, sam!", "content", 0.77)
    assert (reply.vitals, reply.vitals_delta) == (LEVELS, {"dopamine": 6.17})
    assert reply.metadata == {
        "turn_id": 4, "turn_index": 3, "user": "sam", "regenerated": False,
        "incomplete": False, "vitals_reappraised": True,
        "backend": "ollama", "model": "llama3.2", "finish_reason": "stop", "prompt_tokens": 7,
        "completion_tokens": 4, "duration_s": 2.0, "tokens_per_s": 50.0,
        "usage_source": "reported", "extra": {"done_reason": "stop"},
        "timings_ms": {"generation": 2.1, "total": 8.4},
    }


def test_the_answer_of_a_newer_server_with_more_keys_reads_the_same() -> None:
    newer = decoded(answer(reported_by_a_newer_server={"n": 1}))
    assert reply_from(newer) == reply_from(decoded(answer()))


def test_an_answer_without_the_groups_is_a_reply_with_its_text_only() -> None:
    reply = reply_from(ChatResponse(message_id="c-1", response_text="Hi"))
    assert (reply.text, reply.vitals, reply.vitals_delta, reply.mood, reply.mood_intensity,
            reply.metadata) == ("Hi", None, None, None, None, {})
