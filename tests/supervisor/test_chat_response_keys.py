"""The JSON a client gets for a committed turn carries every key it carried before the six
``chat_response`` groups were typed, in the same order: a real turn through the worker's
service and the pipe's codec, with the scripted backend and with HTTP backends (a fake
Ollama and a fake OpenAI-compatible server) that report usage and that do not."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
import pytest

from protocol.chat import ChatRequest, RegenerateRequest
from protocol.frame_codec import FrameDecoder, encode_frame
from protocol.json_codec import encode_server_message
from protocol.pipe import FromWorker, WorkerReply, WorkerRequest
from runtime.settings import EngineSettings, Settings
from tests.backends.fake_llm_servers import FakeOllamaServer, FakeOpenAIServer, StreamScript
from tests.support.paths import BUNDLED_CHARACTERS
from worker.service.character_service import CharacterService

#: The keys of a ``chat_response`` and of each group, in the order the seed-era server sent.
RESPONSE_KEYS = ["message_type", "success", "response_text", "character_insights",
                 "response_metadata", "generation_info", "orchestration_summary",
                 "cognitive_summary", "character_state_summary", "performance_info", "error",
                 "message_id", "timestamp"]
GROUP_KEYS = {
    "character_insights": ["mood", "mood_intensity", "intent"],
    "response_metadata": ["turn_id", "turn_index", "user", "regenerated", "incomplete",
                          "vitals_reappraised"],
    "generation_info": ["backend", "model", "finish_reason", "prompt_tokens",
                        "completion_tokens", "duration_s", "tokens_per_s", "usage_source",
                        "extra"],
    "cognitive_summary": ["appraisal", "memories_used", "memories_formed"],
    "character_state_summary": ["vitals", "vitals_delta", "mood"],
    "performance_info": ["timings_ms"],
}
#: Keys greenroom added to a group, after the seed-era ones (a seed-era client ignores them).
ADDED_KEYS = {"character_state_summary": ["previous_mood"]}
APPRAISAL_KEYS = ["valence", "arousal", "warmth", "threat", "curiosity", "humour", "intent",
                  "sentiment"]
MEMORY_KEYS = ["id", "text", "score", "turn_id"]
LEVELS = ["dopamine", "serotonin", "oxytocin", "endorphins", "cortisol", "adrenaline"]
PHASES = ["appraisal", "memory_search", "prompt", "first_token", "generation", "commit",
          "total"]

_FROM_WORKER = msgspec.msgpack.Decoder(FromWorker)
Backend = Callable[[bool], AbstractAsyncContextManager[EngineSettings]]


@asynccontextmanager
async def scripted(_usage: bool) -> AsyncIterator[EngineSettings]:
    yield EngineSettings(backend="scripted")


@asynccontextmanager
async def ollama(usage: bool) -> AsyncIterator[EngineSettings]:
    async with FakeOllamaServer(models=["llama3.2:latest"]) as server:
        server.script = StreamScript(tokens=["Hello", ",", " Biscuit", "!"], send_usage=usage)
        yield EngineSettings(backend="ollama", ollama_base_url=server.base_url,
                             ollama_model="llama3.2")


@asynccontextmanager
async def openai(usage: bool) -> AsyncIterator[EngineSettings]:
    async with FakeOpenAIServer() as server:
        server.script = StreamScript(tokens=["Hello", ",", " Biscuit", "!"], send_usage=usage)
        yield EngineSettings(backend="openai", openai_base_url=server.base_url,
                             openai_model="local-model")


async def answers(engine: EngineSettings, data_dir: Path) -> list[dict[str, Any]]:
    """A first turn, a second that is given the first's memories, and a regenerate: each
    ``chat_response`` as the JSON a client receives after the pipe and the gateway."""
    settings = Settings(data_dir=data_dir, characters_dir=BUNDLED_CHARACTERS, engine=engine)
    finals: asyncio.Queue[Any] = asyncio.Queue()

    def send(frame: FromWorker) -> None:
        (carried,) = FrameDecoder(_FROM_WORKER).feed(encode_frame(frame))
        if isinstance(carried, WorkerReply) and carried.final:
            finals.put_nowait(carried.message)

    service = await CharacterService.open("m-playful", settings, send)
    got = []
    try:
        for request_id, message in enumerate([
            ChatRequest(message_id="c1", user_message="Hi! My dog is called Biscuit."),
            ChatRequest(message_id="c2", user_message="What is my dog called?"),
            RegenerateRequest(message_id="c3"),
        ], start=1):
            service.submit(WorkerRequest(session_id="s", request_id=request_id, user="sam",
                                         message=message))
            async with asyncio.timeout(10):
                got.append(json.loads(encode_server_message(await finals.get())))
    finally:
        await service.close()
    return got


def assert_seed_keys(response: dict[str, Any]) -> None:
    assert list(response) == RESPONSE_KEYS, response
    for group, keys in GROUP_KEYS.items():
        assert list(response[group]) == keys + ADDED_KEYS.get(group, []), (group,
                                                                           response[group])
    cognitive = response["cognitive_summary"]
    assert list(cognitive["appraisal"]) == APPRAISAL_KEYS
    assert all(list(memory) == MEMORY_KEYS for memory in cognitive["memories_used"])
    assert all(isinstance(text, str) for text in cognitive["memories_formed"])
    state = response["character_state_summary"]
    assert list(state["vitals"]) == list(state["vitals_delta"]) == LEVELS
    assert list(response["performance_info"]["timings_ms"]) == PHASES
    assert response["orchestration_summary"] is None and response["error"] is None


@pytest.mark.parametrize(("backend", "usage", "extra"), [
    (scripted, True, []),
    (ollama, True, ["load_duration_s", "prompt_eval_duration_s", "eval_duration_s",
                    "done_reason"]),
    (ollama, False, ["done_reason"]),
    (openai, True, ["finish_reason"]),
    (openai, False, ["finish_reason"]),
], ids=["scripted", "ollama-usage", "ollama-no-usage", "openai-usage", "openai-no-usage"])
async def test_a_turns_json_carries_every_key_of_the_seed_era_groups(
        backend: Backend, usage: bool, extra: list[str], tmp_path: Path) -> None:
    async with backend(usage) as engine:
        first, second, again = await answers(engine, tmp_path)
    for response in (first, second, again):
        assert_seed_keys(response)
        generation = response["generation_info"]
        assert list(generation["extra"]) == extra
        assert generation["usage_source"] == ("reported" if usage else "counted")
        assert (generation["prompt_tokens"] is None) is not usage
    assert second["cognitive_summary"]["memories_used"], "the second turn recalls the first"
    assert (first["response_metadata"]["regenerated"], again["response_metadata"]["regenerated"]
            ) == (False, True)
