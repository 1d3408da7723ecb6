"""Build the backend and embedder a character's worker uses, from the settings.

``GREENROOM_ENGINE`` picks the backend: ``scripted`` (offline, deterministic, the default),
``ollama`` or ``openai``. HTTP backends come wrapped in a ``GuardedBackend`` so that a
server that is down is answered ``llm_unavailable`` at once and re-checked with backoff.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from worker.backends.availability import AvailabilityGate, GuardedBackend
from worker.backends.base import Backend
from worker.backends.embeddings import (
    HTTPEmbedder,
    NonInterruptingEmbedder,
    OllamaEmbedder,
    OpenAIEmbedder,
)
from worker.backends.http_transport import HTTPTimeouts, Sleep
from worker.backends.ollama import OllamaBackend
from worker.backends.openai import OpenAIBackend
from worker.backends.options import default_options
from worker.backends.server_claims import ServerClaims

if TYPE_CHECKING:
    from runtime.settings import EngineSettings
    from schemas.model import ModelOverrides


def timeouts_from(engine: EngineSettings) -> HTTPTimeouts:
    return HTTPTimeouts(connect_s=engine.llm_connect_timeout_s,
                        first_token_s=engine.llm_first_token_timeout_s,
                        silence_s=engine.llm_silence_timeout_s)


def make_backend(
    engine: EngineSettings,
    overrides: ModelOverrides | None = None,
    *,
    claims_dir: Path,
    clock: Callable[[], float] = time.monotonic,
    sleep: Sleep = asyncio.sleep,
) -> Backend:
    """The backend for one character: the engine from ``settings``, with the character's
    ``llm:`` overrides (model, temperature, top_p, num_ctx, max_tokens, stop) over the
    server-wide ``GREENROOM_LLM_*`` defaults. Makes no network request: call ``check()``.

    ``claims_dir`` holds the lock files by which every worker's replies and background
    requests to one server see each other (``server_claims_dir``). ``clock`` (monotonic
    seconds) drives the re-check backoff; ``sleep`` the connect-retry waits. The caller
    owns the backend and must ``aclose()`` it.
    """
    if engine.backend == "scripted":
        # Imported lazily: the offline backend pulls in the engine's reply machinery, which
        # an HTTP-backed worker never needs.
        from worker.backends.scripted import ScriptedBackend

        return ScriptedBackend(word_delay_s=engine.scripted_word_delay_s)
    defaults = default_options(engine, overrides)
    timeouts = timeouts_from(engine)
    inner: Backend
    if engine.backend == "ollama":
        inner = OllamaBackend(engine.ollama_base_url, defaults, timeouts=timeouts, sleep=sleep)
    else:
        inner = OpenAIBackend(engine.openai_base_url, defaults,
                              api_key=engine.openai_api_key, timeouts=timeouts, sleep=sleep)
    return GuardedBackend(inner, AvailabilityGate(clock),
                          claims=ServerClaims(claims_dir, chat_url(engine)))


def server_claims_dir(data_dir: Path) -> Path:
    """Where the workers of one data directory keep their servers' lock files."""
    return data_dir / "run" / "llm-servers"


def make_embedder(engine: EngineSettings, chat: Backend | None = None
                  ) -> HTTPEmbedder | NonInterruptingEmbedder | None:
    """The embedder for hybrid memory search, or ``None`` when ``GREENROOM_EMBEDDING_MODEL``
    is unset or the engine is ``scripted`` (offline: memory search is then text-only).

    The embedder talks to ``GREENROOM_EMBEDDING_BASE_URL`` when set (a second server that
    serves the embedding model), else to the chat server (``embedding_url``). The caller
    must ``aclose()`` it. When it shares the server with ``chat`` (the character's guarded
    backend), it is wrapped so that it never sends a request while a reply streams there.
    """
    model = engine.embedding_model
    if model is None or engine.backend == "scripted":
        return None
    timeouts = timeouts_from(engine)
    url = embedding_url(engine)
    embedder: HTTPEmbedder
    if engine.backend == "ollama":
        embedder = OllamaEmbedder(url, model, timeouts=timeouts)
    else:
        embedder = OpenAIEmbedder(url, model, api_key=engine.openai_api_key,
                                  timeouts=timeouts)
    if isinstance(chat, GuardedBackend) and url.rstrip("/") == chat_url(engine).rstrip("/"):
        return NonInterruptingEmbedder(embedder, chat)
    return embedder


def chat_url(engine: EngineSettings) -> str:
    """The base URL of the chat server of an HTTP engine."""
    return engine.ollama_base_url if engine.backend == "ollama" else engine.openai_base_url


def embedding_url(engine: EngineSettings) -> str:
    """Where embeddings are asked for: ``GREENROOM_EMBEDDING_BASE_URL``, else the chat server."""
    return engine.embedding_base_url or chat_url(engine)
