"""make_backend / make_embedder: engine choice, per-character overrides, settings wiring."""

from __future__ import annotations

from pathlib import Path

from runtime.settings import EngineSettings, load_settings
from schemas.model import ModelOverrides
from tests.backends.fake_llm_servers import FakeOllamaServer, FakeOpenAIServer
from tests.backends.helpers import HELLO, collect
from worker.backends.availability import GuardedBackend
from worker.backends.embeddings import NonInterruptingEmbedder, OllamaEmbedder, OpenAIEmbedder
from worker.backends.factory import make_backend, make_embedder, timeouts_from


def settings_from_env(tmp_path: Path, **env: str) -> EngineSettings:
    return load_settings(environ=env, dotenv_path=tmp_path / "absent.env").engine


async def test_ollama_engine_from_environment_uses_the_configured_server_and_model(
    tmp_path: Path, ollama_server: FakeOllamaServer,
) -> None:
    settings = settings_from_env(tmp_path, GREENROOM_ENGINE="ollama",
                                 OLLAMA_BASE_URL=ollama_server.base_url,
                                 OLLAMA_MODEL="llama3.2", GREENROOM_LLM_NUM_CTX="8192")
    backend = make_backend(settings, claims_dir=tmp_path)
    assert isinstance(backend, GuardedBackend) and backend.name == "ollama"
    text, _ = await collect(backend.generate(HELLO))
    await backend.aclose()
    assert text == "Hello, world!"
    body = ollama_server.stats.bodies[-1]
    assert body["options"]["num_ctx"] == 8192
    assert body["options"]["temperature"] == 0.8


async def test_character_overrides_win_over_settings(
    tmp_path: Path, ollama_server: FakeOllamaServer,
) -> None:
    ollama_server.models.append("mistral:7b")
    settings = settings_from_env(tmp_path, GREENROOM_ENGINE="ollama",
                                 OLLAMA_BASE_URL=ollama_server.base_url)
    overrides = ModelOverrides(model="mistral:7b", temperature=0.2, num_ctx=2048,
                               max_tokens=64, stop=["\nUser:"])
    backend = make_backend(settings, overrides, claims_dir=tmp_path)
    await collect(backend.generate(HELLO))
    await backend.aclose()
    body = ollama_server.stats.bodies[-1]
    assert body["model"] == "mistral:7b"
    assert body["options"] == {"temperature": 0.2, "num_ctx": 2048, "num_predict": 64,
                               "stop": ["\nUser:"]}


async def test_openai_engine_sends_the_configured_key(tmp_path: Path) -> None:
    async with FakeOpenAIServer(models=["qwen"], api_key="secret") as server:
        settings = settings_from_env(tmp_path, GREENROOM_ENGINE="openai",
                                     OPENAI_BASE_URL=server.base_url, OPENAI_MODEL="qwen",
                                     OPENAI_API_KEY="secret")
        backend = make_backend(settings, claims_dir=tmp_path)
        await backend.check()
        text, done = await collect(backend.generate(HELLO))
        await backend.aclose()
    assert (backend.name, text, done.model) == ("openai", "Hello, world!", "qwen")


def test_timeouts_come_from_settings(tmp_path: Path) -> None:
    settings = settings_from_env(tmp_path, GREENROOM_LLM_CONNECT_TIMEOUT="2.5",
                                 GREENROOM_LLM_FIRST_TOKEN_TIMEOUT="90",
                                 GREENROOM_LLM_SILENCE_TIMEOUT="7")
    timeouts = timeouts_from(settings)
    assert (timeouts.connect_s, timeouts.first_token_s, timeouts.silence_s) == (2.5, 90.0, 7.0)


def test_no_embedder_without_an_embedding_model_or_offline(tmp_path: Path) -> None:
    assert make_embedder(settings_from_env(tmp_path, GREENROOM_ENGINE="ollama")) is None
    assert make_embedder(settings_from_env(
        tmp_path, GREENROOM_EMBEDDING_MODEL="nomic-embed-text")) is None


async def test_embedder_follows_the_engine(tmp_path: Path) -> None:
    ollama = make_embedder(settings_from_env(tmp_path, GREENROOM_ENGINE="ollama",
                                             GREENROOM_EMBEDDING_MODEL="nomic-embed-text"))
    openai = make_embedder(settings_from_env(tmp_path, GREENROOM_ENGINE="openai",
                                             GREENROOM_EMBEDDING_MODEL="bge"))
    assert isinstance(ollama, OllamaEmbedder) and ollama.model == "nomic-embed-text"
    assert isinstance(openai, OpenAIEmbedder) and openai.model == "bge"
    for embedder in (ollama, openai):
        await embedder.aclose()


async def test_scripted_engine_needs_no_server(tmp_path: Path) -> None:
    backend = make_backend(settings_from_env(tmp_path), ModelOverrides(model="ignored"),
                           claims_dir=tmp_path)
    await backend.check()
    text, done = await collect(backend.generate(HELLO))
    await backend.aclose()
    assert backend.name == "scripted" and done.backend == "scripted" and text


def test_scripted_word_delay_comes_from_the_settings(tmp_path: Path) -> None:
    from worker.backends.scripted import ScriptedBackend

    backend = make_backend(settings_from_env(tmp_path, GREENROOM_SCRIPTED_WORD_DELAY="0.04"),
                           claims_dir=tmp_path)
    assert isinstance(backend, ScriptedBackend)
    assert backend.word_delay_s == 0.04


def test_embeddings_come_from_the_embedding_base_url_when_set(tmp_path: Path) -> None:
    settings = settings_from_env(tmp_path, GREENROOM_ENGINE="openai",
                                 OPENAI_BASE_URL="http://127.0.0.1:8000/v1",
                                 GREENROOM_EMBEDDING_MODEL="nomic",
                                 GREENROOM_EMBEDDING_BASE_URL="http://127.0.0.1:8081/v1")
    embedder = make_embedder(settings, make_backend(settings, claims_dir=tmp_path))
    assert isinstance(embedder, OpenAIEmbedder)
    assert embedder.base_url == "http://127.0.0.1:8081/v1"


def test_embeddings_from_the_chat_server_never_interrupt_its_replies(tmp_path: Path) -> None:
    settings = settings_from_env(tmp_path, GREENROOM_ENGINE="openai",
                                 OPENAI_BASE_URL="http://127.0.0.1:8000/v1",
                                 GREENROOM_EMBEDDING_MODEL="nomic")
    embedder = make_embedder(settings, make_backend(settings, claims_dir=tmp_path))
    assert isinstance(embedder, NonInterruptingEmbedder)
    assert embedder.inner.base_url == "http://127.0.0.1:8000/v1"
