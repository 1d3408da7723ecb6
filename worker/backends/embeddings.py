"""Embedding vectors for hybrid memory search, from Ollama or an OpenAI-compatible server.

Both embedders send every text of a call in one request (``input: [...]``), return one
vector per text in the caller's order, and raise the same errors as the chat backends:
``LLMUnavailable`` for an unreachable server or a missing model, ``LLMError`` otherwise.
Each owns a pooled HTTP client; call ``aclose()`` at shutdown.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from worker.backends.availability import GuardedBackend
from worker.backends.backoff import DEFAULT_CONNECT_RETRY, ConnectRetry
from worker.backends.base import LLMError, LLMUnavailable
from worker.backends.http_transport import (
    DEFAULT_TIMEOUTS,
    HTTPTimeouts,
    ServerKind,
    Sleep,
    make_client,
    post_json,
)
from worker.backends.ollama import OLLAMA
from worker.backends.ollama_wire import is_model_not_found, model_missing
from worker.backends.openai import OPENAI, auth_headers, status_error


class HTTPEmbedder(ABC):
    """What both embedders share: the client, timeouts, retries and the shape checks."""

    kind: ServerKind
    path: str

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        headers: dict[str, str] | None = None,
        timeouts: HTTPTimeouts = DEFAULT_TIMEOUTS,
        retry: ConnectRetry = DEFAULT_CONNECT_RETRY,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._timeouts = timeouts
        self._retry = retry
        self._sleep = sleep
        self._client = make_client(self.base_url, timeouts, headers)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, same order. An empty ``texts`` makes no request."""
        if not texts:
            return []
        status, body, detail = await post_json(
            self._client, self.path, {"model": self.model, "input": list(texts)},
            kind=self.kind, timeouts=self._timeouts, retry=self._retry, sleep=self._sleep,
        )
        if status != 200:
            raise self._status_error(status, detail)
        vectors = self._vectors(body)
        if vectors and all(_is_per_token(v) for v in vectors):
            raise LLMError(
                f"{self.kind.display} at {self.base_url} returned one vector per token instead"
                f" of one per text for the embedding model {self.model!r}: its GGUF names no"
                " pooling type. Serve it with mean pooling (llama-server `--pooling mean`;"
                " llama-cpp-python's server has no such flag: load the model with"
                " `Llama(..., pooling_type=1)`, i.e. LLAMA_POOLING_TYPE_MEAN, as"
                " tests/real_llm/launch_llama_server.py --pooling mean does) or use another"
                " embedding model; memory search is text-only until then"
            )
        if len(vectors) != len(texts) or not all(_is_vector(v) for v in vectors):
            raise LLMError(
                f"{self.kind.display} at {self.base_url} returned {len(vectors)} embedding(s)"
                f" for {len(texts)} text(s), or vectors that are not lists of numbers"
            )
        return [[float(x) for x in v] for v in vectors]

    @abstractmethod
    def _status_error(self, status: int, detail: str) -> Exception:
        """The error for a non-200 answer."""

    @abstractmethod
    def _vectors(self, body: Any) -> list[Any]:
        """The vectors of a 200 answer, in input order (not yet shape-checked)."""

    async def aclose(self) -> None:
        await self._client.aclose()


class NonInterruptingEmbedder:
    """An embedder that never asks the chat server for embeddings while a reply of this
    worker streams from it: llama-cpp-python's server would end that reply (its
    ``interrupt_requests``). Such a call raises ``LLMUnavailable`` at once, and memory search
    falls back to text for that query (logged as ``memory_embedding_failed``). Used only when
    embeddings and chats share a server (no ``GREENROOM_EMBEDDING_BASE_URL``)."""

    def __init__(self, inner: HTTPEmbedder, chat: GuardedBackend) -> None:
        self.inner = inner
        self._chat = chat

    @property
    def model(self) -> str:
        return self.inner.model

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if self._chat.streams:
            raise LLMUnavailable(
                f"not asking {self.inner.kind.display} at {self.inner.base_url} for"
                f" {len(texts)} embedding(s) while it streams a reply of this character (the"
                " request could interrupt the reply); set GREENROOM_EMBEDDING_BASE_URL to a"
                " separate embedding server to search by meaning meanwhile"
            )
        return await self.inner.embed(texts)

    async def aclose(self) -> None:
        await self.inner.aclose()


class OllamaEmbedder(HTTPEmbedder):
    """``POST /api/embed`` on an Ollama server (``base_url`` like ``http://localhost:11434``)."""

    kind = OLLAMA
    path = "api/embed"

    def _status_error(self, status: int, detail: str) -> Exception:
        if is_model_not_found(status, detail):
            return model_missing(self.model, self.base_url, detail)
        return LLMError(f"Ollama at {self.base_url}/api/embed answered HTTP {status}: {detail}")

    def _vectors(self, body: Any) -> list[Any]:
        if not isinstance(body, dict) or not isinstance(body.get("embeddings"), list):
            raise LLMError(f"Ollama's /api/embed answer has no embeddings: {str(body)[:200]}")
        return list(body["embeddings"])


class OpenAIEmbedder(HTTPEmbedder):
    """``POST {base}/embeddings`` on an OpenAI-compatible server (``base_url`` ends in /v1)."""

    kind = OPENAI
    path = "embeddings"

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeouts: HTTPTimeouts = DEFAULT_TIMEOUTS,
        retry: ConnectRetry = DEFAULT_CONNECT_RETRY,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__(base_url, model, headers=auth_headers(api_key), timeouts=timeouts,
                         retry=retry, sleep=sleep)

    def _status_error(self, status: int, detail: str) -> Exception:
        return status_error(status, detail, url=f"{self.base_url}/embeddings", model=self.model)

    def _vectors(self, body: Any) -> list[Any]:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
            raise LLMError(f"the /embeddings answer has no data list: {str(body)[:200]}")
        # The API promises an "index" per item, not that items come in input order.
        ordered = sorted(data, key=lambda d: d.get("index", 0))
        return [d.get("embedding") for d in ordered]


def _is_per_token(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(_is_vector(v) for v in value)


def _is_vector(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in value)
