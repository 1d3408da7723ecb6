"""Encode+decode time per message for the protocol's two codecs, beside a stdlib baseline.

Run: ``python -m bench.codec_bench`` (a few seconds). For each representative message it
measures one full round trip, side by side in the same process:

* ``json codec``: ``encode_server_message``/``encode_client_message`` then the matching
  typed, validating decoder (what the gateway does per WebSocket frame);
* ``msgpack pipe``: ``encode_frame`` of the message wrapped in its pipe frame, then
  ``FrameDecoder.feed`` (what crosses a worker pipe, length prefix included);
* ``stdlib json``: ``json.dumps`` of the equivalent plain dict then ``json.loads`` — no
  types, no validation: the naive baseline.

Figures are the best of several repeats (least disturbed by other load), in microseconds.
"""

from __future__ import annotations

import json
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from bench.report import Row, machine_line, render_table
from protocol.chat import ChatDelta, ChatRequest, ChatResponse
from protocol.frame_codec import encode_frame, from_worker_decoder, to_worker_decoder
from protocol.json_codec import (
    decode_client_message,
    decode_server_message,
    encode_client_message,
    encode_server_message,
)
from protocol.pipe import WorkerReply, WorkerRequest
from protocol.queries import StatusResponse
from protocol.session import PingRequest
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
from protocol.unions import ClientMessage, ServerMessage

REPEATS = 5
TARGET_SECONDS_PER_REPEAT = 0.02


@dataclass(frozen=True, slots=True)
class Timing:
    """One message's round-trip times, in microseconds."""

    name: str
    json_bytes: int
    json_codec_us: float
    msgpack_pipe_us: float
    stdlib_json_us: float


def _vitals() -> dict[str, float]:
    return {
        "dopamine": 62.5, "serotonin": 55.0, "oxytocin": 48.25,
        "endorphins": 51.0, "cortisol": 22.75, "adrenaline": 30.5,
    }  # fmt: skip


def _history(turns: int) -> list[dict[str, Any]]:
    return [
        {
            "turn_index": i,
            "user": "ada",
            "user_message": f"Message number {i}: what do you think about the weather today?",
            "response_text": f"Reply {i}: the sky is a fine shade of grey, perfect for tea.",
            "timestamp": "2024-03-01T10:15:00.123456+00:00",
        }
        for i in range(turns)
    ]


def _client_samples() -> list[tuple[str, ClientMessage]]:
    return [
        ("ping_request", PingRequest(message_id="p-1")),
        ("chat_request", ChatRequest(message_id="c-1", user_message="Hello there, how are you?")),
    ]


def _server_samples() -> list[tuple[str, ServerMessage]]:
    return [
        ("chat_delta", ChatDelta(message_id="c-1", delta="Hello, ", index=3)),
        (
            "chat_response",
            ChatResponse(
                message_id="c-1",
                response_text="Oh, hello! I'm splendid, thanks for asking. " * 3,
                character_insights=CharacterInsights(mood="playful", mood_intensity=0.75,
                                                     intent="greeting"),
                response_metadata=ResponseMetadata(turn_id=12, turn_index=12, user="ada",
                                                   regenerated=False, incomplete=False,
                                                   vitals_reappraised=True),
                generation_info=GenerationInfo(backend="scripted", model="scripted",
                                               finish_reason="stop", prompt_tokens=1189,
                                               completion_tokens=42, duration_s=0.0035,
                                               tokens_per_s=12000.0, usage_source="reported"),
                cognitive_summary=CognitiveSummary(
                    appraisal=MessageAppraisal(valence=0.67, arousal=0.42, warmth=0.52,
                                               threat=0.0, curiosity=0.0, humour=0.0,
                                               intent="greeting", sentiment=0.67),
                    memories_used=[PromptMemory(id=1, text="Ada likes tea.", score=0.98,
                                                turn_id=3)],
                    memories_formed=["ada felt happy: \"Hello there\""]),
                character_state_summary=CharacterStateSummary(
                    vitals=_vitals(), vitals_delta={name: 1.5 for name in _vitals()},
                    mood="playful"),
                performance_info=PerformanceInfo(timings_ms={"generation": 3.5,
                                                             "total": 5.25}),
            ),
        ),
        (
            "status_response (20 turns)",
            StatusResponse(
                message_id="s-1",
                character_summary={"name": "Milo", "archetype": "playful", "turns": 20},
                vitals=_vitals(),
                conversation_history=_history(20),
            ),
        ),
    ]


def _best_us(operation: Callable[[], object]) -> float:
    timer = timeit.Timer(operation)
    calibration_runs = 200
    per_call = timer.timeit(calibration_runs) / calibration_runs
    number = max(1, int(TARGET_SECONDS_PER_REPEAT / per_call))
    return min(timer.repeat(repeat=REPEATS, number=number)) / number * 1e6


def _stdlib_round_trip(message: msgspec.Struct) -> Callable[[], object]:
    plain = msgspec.to_builtins(message)
    return lambda: json.loads(json.dumps(plain))


def measure() -> list[Timing]:
    """Measure every sample; one ``Timing`` per message."""
    rows: list[Timing] = []
    to_worker = to_worker_decoder()
    from_worker = from_worker_decoder()
    for name, request in _client_samples():
        request_frame = WorkerRequest(session_id="s-1", request_id=1, user="ada", message=request)
        rows.append(
            Timing(
                name=name,
                json_bytes=len(encode_client_message(request).encode()),
                json_codec_us=_best_us(
                    lambda r=request: decode_client_message(encode_client_message(r))  # type: ignore[misc]
                ),
                msgpack_pipe_us=_best_us(
                    lambda f=request_frame: to_worker.feed(encode_frame(f))  # type: ignore[misc]
                ),
                stdlib_json_us=_best_us(_stdlib_round_trip(request)),
            )
        )
    for name, response in _server_samples():
        reply_frame = WorkerReply(request_id=1, message=response)
        rows.append(
            Timing(
                name=name,
                json_bytes=len(encode_server_message(response).encode()),
                json_codec_us=_best_us(
                    lambda r=response: decode_server_message(encode_server_message(r))  # type: ignore[misc]
                ),
                msgpack_pipe_us=_best_us(
                    lambda f=reply_frame: from_worker.feed(encode_frame(f))  # type: ignore[misc]
                ),
                stdlib_json_us=_best_us(_stdlib_round_trip(response)),
            )
        )
    return rows


def to_rows(timings: list[Timing]) -> list[Row]:
    """Two report rows per message (JSON codec, msgpack pipe), each against stdlib json."""
    goal = "≤ stdlib json+dict"
    rows: list[Row] = []
    for t in timings:
        for codec, micros in (("json codec", t.json_codec_us), ("msgpack pipe", t.msgpack_pipe_us)):
            rows.append(
                Row(
                    metric=f"{t.name} ({t.json_bytes} B JSON), {codec}",
                    greenroom=micros,
                    baseline=t.stdlib_json_us,
                    unit="µs encode+decode",
                    goal=goal,
                    met=micros <= t.stdlib_json_us,
                )
            )
    return rows


def main() -> None:
    print(render_table("Protocol codecs: encode+decode per message", to_rows(measure())))
    print(
        f"{machine_line()}. Best of {REPEATS} repeats. The codecs decode into typed, validated "
        "Structs; the stdlib baseline (json.dumps + json.loads of the same content as a plain "
        "dict) validates nothing."
    )


if __name__ == "__main__":
    main()
