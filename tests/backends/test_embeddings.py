"""Embedders against the fake servers' real /api/embed and /v1/embeddings routes."""

from __future__ import annotations

import pytest

from tests.backends.conftest import RecordingSleep
from tests.backends.fake_llm_servers import FakeOllamaServer, FakeOpenAIServer
from tests.support.ports import closed_port
from worker.backends.backoff import ConnectRetry
from worker.backends.base import LLMUnavailable
from worker.backends.embeddings import OllamaEmbedder, OpenAIEmbedder


async def test_ollama_embedder_returns_one_vector_per_text_in_order(
    ollama_server: FakeOllamaServer,
) -> None:
    embedder = OllamaEmbedder(ollama_server.base_url, "nomic-embed-text")
    vectors = await embedder.embed(["tea", "storm"])
    await embedder.aclose()
    assert vectors == [ollama_server.embedding("tea"), ollama_server.embedding("storm")]
    assert ollama_server.stats.bodies[-1] == {"model": "nomic-embed-text",
                                              "input": ["tea", "storm"]}


async def test_openai_embedder_orders_vectors_by_index_and_sends_the_key() -> None:
    async with FakeOpenAIServer(models=["embed-model"], api_key="k") as server:
        embedder = OpenAIEmbedder(server.base_url, "embed-model", api_key="k")
        vectors = await embedder.embed(["a", "b", "c"])
        await embedder.aclose()
    assert vectors == [server.embedding(t) for t in ("a", "b", "c")]


async def test_empty_input_makes_no_request(ollama_server: FakeOllamaServer) -> None:
    embedder = OllamaEmbedder(ollama_server.base_url, "nomic-embed-text")
    assert await embedder.embed([]) == []
    await embedder.aclose()
    assert ollama_server.stats.connections == 0


async def test_missing_embedding_model_names_the_pull_command(
    ollama_server: FakeOllamaServer,
) -> None:
    embedder = OllamaEmbedder(ollama_server.base_url, "mxbai-embed-large")
    with pytest.raises(LLMUnavailable, match=r"`ollama pull mxbai-embed-large`"):
        await embedder.embed(["x"])
    await embedder.aclose()


async def test_openai_embedder_with_unknown_model_is_unavailable(
    openai_server: FakeOpenAIServer,
) -> None:
    embedder = OpenAIEmbedder(openai_server.base_url, "nope")
    with pytest.raises(LLMUnavailable, match="'nope'"):
        await embedder.embed(["x"])
    await embedder.aclose()


async def test_embedder_on_a_closed_port_is_unavailable() -> None:
    embedder = OllamaEmbedder(f"http://127.0.0.1:{closed_port()}", "nomic-embed-text",
                              retry=ConnectRetry(attempts=2), sleep=RecordingSleep())
    with pytest.raises(LLMUnavailable, match="ollama serve"):
        await embedder.embed(["x"])
    await embedder.aclose()
