"""Where a backend learns its model's context window: the JSON its server answers (pure), and
the backends asking real HTTP servers that speak Ollama's and llama-server's formats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.backends.fake_llm_servers import FakeOllamaServer, FakeOpenAIServer
from tests.engine.clock import ManualClock
from worker.backends.availability import AvailabilityGate, GuardedBackend
from worker.backends.base import GenerationOptions
from worker.backends.context_window import (
    ContextWindow,
    OllamaModelFacts,
    context_window_of,
    listing_window,
    llama_cpp_props_window,
    ollama_model_facts,
    ollama_window,
)
from worker.backends.ollama import OllamaBackend
from worker.backends.openai import OpenAIBackend
from worker.backends.scripted import ScriptedBackend
from worker.backends.server_claims import ServerClaims

#: ``POST /api/show`` of llama3.2 as Ollama answers it (abridged: the large fields cut).
OLLAMA_SHOW: dict[str, Any] = {
    "modelfile": "FROM /root/.ollama/models/blobs/sha256-dde5\n",
    "parameters": 'num_ctx                        8192\n'
                  'stop                           "<|eot_id|>"',
    "template": "<|start_header_id|>system<|end_header_id|>...",
    "details": {"parent_model": "", "format": "gguf", "family": "llama",
                "families": ["llama"], "parameter_size": "3.2B", "quantization_level": "Q4_K_M"},
    "model_info": {"general.architecture": "llama", "general.basename": "Llama-3.2",
                   "general.parameter_count": 3212749888, "llama.block_count": 28,
                   "llama.context_length": 131072, "llama.embedding_length": 3072},
    "capabilities": ["completion", "tools"],
    "modified_at": "2025-01-01T00:00:00Z",
}
#: ``GET /props`` of llama-server started with ``-c 8192 -np 1`` (abridged).
LLAMA_SERVER_PROPS: dict[str, Any] = {
    "default_generation_settings": {"id": 0, "id_task": -1, "n_ctx": 8192, "speculative": False,
                                    "is_processing": False,
                                    "params": {"n_predict": -1, "temperature": 0.8}},
    "total_slots": 1, "model_path": "/models/qwen2.5-3b-instruct-q4_k_m.gguf",
    "chat_template": "{%- for message in messages %}...", "build_info": "b4600-1234abcd",
}
#: ``GET /v1/models`` of llama-server: ``meta.n_ctx_train`` is the trained context.
LLAMA_SERVER_MODELS: dict[str, Any] = {"object": "list", "data": [{
    "id": "qwen2.5-3b-instruct-q4_k_m.gguf", "object": "model", "created": 1736000000,
    "owned_by": "llamacpp", "meta": {"vocab_type": 2, "n_vocab": 151936, "n_ctx_train": 32768,
                                     "n_embd": 2048, "n_params": 3085938688,
                                     "size": 1929903104}}]}
#: ``GET /v1/models`` of vLLM started with ``--max-model-len 16384``.
VLLM_MODELS: dict[str, Any] = {"object": "list", "data": [{
    "id": "Qwen/Qwen2.5-7B-Instruct", "object": "model", "created": 1736000000,
    "owned_by": "vllm", "root": "Qwen/Qwen2.5-7B-Instruct", "parent": None,
    "max_model_len": 16384, "permission": []}]}


def test_ollama_show_gives_the_trained_context_and_the_modelfile_num_ctx() -> None:
    assert ollama_model_facts(OLLAMA_SHOW) == OllamaModelFacts(
        context_length=131072, context_key="llama.context_length", modelfile_num_ctx=8192)


@pytest.mark.parametrize("body", [None, [], {"model_info": "?"}, {"parameters": 3}])
def test_an_odd_show_answer_gives_no_facts(body: Any) -> None:
    assert ollama_model_facts(body) == OllamaModelFacts()


def test_ollama_uses_the_num_ctx_a_request_sends() -> None:
    window = ollama_window(4096, ollama_model_facts(OLLAMA_SHOW))
    assert window == ContextWindow(4096, "num_ctx 4096 sent to Ollama")
    assert ollama_window(4096, None) == window


def test_ollama_lowers_a_num_ctx_beyond_what_the_model_was_trained_for() -> None:
    facts = ollama_model_facts({**OLLAMA_SHOW, "model_info": {
        "general.architecture": "gemma", "gemma.context_length": 2048}})
    window = ollama_window(4096, facts)
    assert window is not None and window.tokens == 2048
    assert "gemma.context_length" in window.source and "/api/show" in window.source


def test_without_a_num_ctx_ollama_uses_the_modelfiles() -> None:
    window = ollama_window(None, ollama_model_facts(OLLAMA_SHOW))
    assert window is not None and window.tokens == 8192
    assert "Modelfile" in window.source
    assert ollama_window(None, None) is None


def test_llama_server_props_give_the_slot_context() -> None:
    assert llama_cpp_props_window(LLAMA_SERVER_PROPS) == ContextWindow(
        8192, "llama.cpp GET /props default_generation_settings.n_ctx")
    assert llama_cpp_props_window({"n_ctx": 4096}) == ContextWindow(
        4096, "llama.cpp GET /props n_ctx")
    assert llama_cpp_props_window({"error": "not found"}) is None


def test_the_model_listing_gives_vllms_max_model_len() -> None:
    window = listing_window(VLLM_MODELS, "Qwen/Qwen2.5-7B-Instruct")
    assert window == ContextWindow(16384, "GET /v1/models max_model_len")


def test_the_trained_context_of_a_listing_is_the_last_resort_and_says_so() -> None:
    window = listing_window(LLAMA_SERVER_MODELS, "any-name")  # its only model answers any
    assert window is not None and window.tokens == 32768
    assert "trained" in window.source


def test_a_listing_of_other_models_or_without_metadata_gives_nothing() -> None:
    two = {"object": "list", "data": [{"id": "a", "max_model_len": 1}, {"id": "b"}]}
    assert listing_window(two, "c") is None
    assert listing_window(two, "b") is None
    assert listing_window({"data": [{"id": "m", "max_model_len": True}]}, "m") is None


def test_a_backend_that_cannot_say_has_no_window() -> None:
    assert context_window_of(ScriptedBackend(), GenerationOptions()) is None


OLLAMA_DEFAULTS = GenerationOptions(model="llama3.2", num_ctx=4096, max_tokens=512)
OPENAI_DEFAULTS = GenerationOptions(model="local-model", max_tokens=512)


async def test_ollama_reads_the_models_context_length_when_it_checks() -> None:
    async with FakeOllamaServer(context_length=2048) as server:
        backend = OllamaBackend(server.base_url, OLLAMA_DEFAULTS)
        assert backend.context_window(GenerationOptions()) == ContextWindow(
            4096, "num_ctx 4096 sent to Ollama")  # before the server has said more
        await backend.check()
        await backend.aclose()
    window = backend.context_window(GenerationOptions())
    assert window is not None and window.tokens == 2048
    assert server.stats.requests["POST /api/show"] == 1
    assert server.stats.bodies[-1] == {"model": "llama3.2"}


async def test_a_request_with_its_own_num_ctx_gets_that_window() -> None:
    async with FakeOllamaServer() as server:
        backend = OllamaBackend(server.base_url, OLLAMA_DEFAULTS)
        await backend.check()
        await backend.aclose()
    window = backend.context_window(GenerationOptions(num_ctx=16384))
    assert window is not None and window.tokens == 16384


async def test_llama_server_is_asked_its_props_when_it_checks() -> None:
    async with FakeOpenAIServer(props_n_ctx=8192) as server:
        backend = OpenAIBackend(server.base_url, OPENAI_DEFAULTS)
        assert backend.context_window(GenerationOptions()) is None
        await backend.check()
        await backend.aclose()
    assert backend.context_window(GenerationOptions()) == ContextWindow(
        8192, "llama.cpp GET /props default_generation_settings.n_ctx")
    assert server.stats.requests["GET /props"] == 1


async def test_a_server_without_props_gives_its_listings_metadata() -> None:
    async with FakeOpenAIServer(model_fields={"max_model_len": 16384}) as server:
        backend = OpenAIBackend(server.base_url, OPENAI_DEFAULTS)
        await backend.check()
        await backend.aclose()
    assert backend.context_window(GenerationOptions()) == ContextWindow(
        16384, "GET /v1/models max_model_len")


async def test_a_server_without_health_is_asked_nothing_more() -> None:
    """llama-cpp-python's server has no /health, and any /v1 request would interrupt a reply
    another worker streams there: its window stays unknown (GREENROOM_CONTEXT_TOKENS)."""
    async with FakeOpenAIServer(serve_health=False, props_n_ctx=8192,
                                model_fields={"max_model_len": 16384}) as server:
        backend = OpenAIBackend(server.base_url, OPENAI_DEFAULTS)
        await backend.check()
        await backend.aclose()
    assert backend.context_window(GenerationOptions()) is None
    assert server.stats.requests["GET /props"] == 0
    assert server.stats.requests["GET /v1/models"] == 0


async def test_a_guarded_backend_says_its_inner_backends_window(tmp_path: Path) -> None:
    async with FakeOpenAIServer(props_n_ctx=2048) as server:
        guarded = GuardedBackend(OpenAIBackend(server.base_url, OPENAI_DEFAULTS),
                                 AvailabilityGate(ManualClock()),
                                 claims=ServerClaims(tmp_path, server.base_url))
        await guarded.check()
        await guarded.aclose()
    window = context_window_of(guarded, GenerationOptions())
    assert window is not None and window.tokens == 2048
