"""The OpenAI-compatible backend: ``POST {base}/chat/completions`` with SSE streaming.

Works with llama.cpp's ``llama-server``, vLLM, LM Studio and Ollama's ``/v1``; ``base_url``
is the API root including ``/v1`` (``http://localhost:8080/v1``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable

import httpx

from worker.backends.backoff import DEFAULT_CONNECT_RETRY, ConnectRetry
from worker.backends.base import (
    GenerationDone,
    GenerationOptions,
    GenerationRequest,
    LLMError,
    LLMUnavailable,
    TextDelta,
)
from worker.backends.http_transport import (
    DEFAULT_TIMEOUTS,
    HTTPTimeouts,
    ServerKind,
    Sleep,
    drain_tail,
    get_json,
    make_client,
    open_stream,
    read_error_detail,
    stream_broke,
)
from worker.backends.openai_wire import (
    ChatStreamDecoder,
    chat_payload,
    looks_like_missing_model,
    model_ids,
)
from worker.backends.options import merge_options
from worker.backends.sse import SSEDecoder

OPENAI = ServerKind(
    display="the OpenAI-compatible server",
    url_variable="OPENAI_BASE_URL",
    start_hint="e.g. `llama-server -m model.gguf --port 8080`",
)


def status_error(status: int, detail: str, *, url: str, model: str) -> LLMUnavailable | LLMError:
    """The error for a non-200 answer, shared by chat and embeddings."""
    if status in (401, 403):
        return LLMUnavailable(
            f"the OpenAI-compatible server at {url} refused the request (HTTP {status}:"
            f" {detail}); set OPENAI_API_KEY to a key it accepts"
        )
    if looks_like_missing_model(status, detail):
        return LLMUnavailable(
            f"the OpenAI-compatible server at {url} does not serve the model {model!r}"
            f" ({detail}); load it there, or name a served model in OPENAI_MODEL or the"
            " character's llm.model"
        )
    if status == 404:
        return LLMUnavailable(
            f"the server at {url} has no such endpoint (HTTP 404: {detail}); OPENAI_BASE_URL"
            " must be the API root, usually ending in /v1"
        )
    return LLMError(
        f"the OpenAI-compatible server at {url} answered HTTP {status}: {detail}",
        retryable=status == 503,
    )


def auth_headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


class OpenAIBackend:
    """Streams replies from any OpenAI-compatible chat-completions server.

    ``defaults`` fill every option a request leaves ``None``; it must name a model (servers
    that serve one model, like llama.cpp, accept any name). ``api_key`` is sent as
    ``Authorization: Bearer``. ``clock`` measures durations (seconds, monotonic).
    """

    name = "openai"

    def __init__(
        self,
        base_url: str,
        defaults: GenerationOptions,
        *,
        api_key: str | None = None,
        timeouts: HTTPTimeouts = DEFAULT_TIMEOUTS,
        retry: ConnectRetry = DEFAULT_CONNECT_RETRY,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if defaults.model is None:
            raise ValueError("OpenAIBackend needs a default model (OPENAI_MODEL)")
        self.base_url = base_url.rstrip("/")
        self.defaults = defaults
        self._timeouts = timeouts
        self._retry = retry
        self._sleep = sleep
        self._clock = clock
        self._client = make_client(self.base_url, timeouts, auth_headers(api_key))

    async def check(self) -> None:
        """``GET {base}/models``: unreachable, refused key or a server error →
        ``LLMUnavailable``. A server without ``/models`` (404) but answering passes. A listing
        that names several models but not ours fails; a single-model listing passes whatever
        its id, because single-model servers (llama.cpp) ignore the requested name."""
        url = f"{self.base_url}/models"
        status, body = await get_json(self._client, "models", kind=OPENAI,
                                      timeouts=self._timeouts)
        if status == 404:
            return
        if status != 200:
            error = status_error(status, str(body)[:300], url=url, model="")
            raise error if isinstance(error, LLMUnavailable) else LLMUnavailable(str(error))
        ids = model_ids(body)
        model = self.defaults.model or ""
        if ids is not None and len(ids) > 1 and model not in ids:
            raise LLMUnavailable(
                f"the OpenAI-compatible server at {self.base_url} does not list the model"
                f" {model!r} (it serves: {', '.join(ids)}); set OPENAI_MODEL or the"
                " character's llm.model to one of those"
            )

    async def generate(
        self, request: GenerationRequest
    ) -> AsyncGenerator[TextDelta | GenerationDone, None]:
        """Yield each delta as its SSE event arrives, then one ``GenerationDone``.

        Errors as for ``OllamaBackend.generate``; in addition HTTP 401/403 (API key) and 404
        (wrong model or base URL) are ``LLMUnavailable``. Closing this generator closes the
        HTTP response at once.
        """
        options = merge_options(self.defaults, request.options)
        model = options.model or ""
        http_request = self._client.build_request(
            "POST", "chat/completions", json=chat_payload(request.messages, options)
        )
        url = str(http_request.url)
        started = self._clock()
        first_token_at: float | None = None
        tokens = 0
        decoder = ChatStreamDecoder(model)
        sse = SSEDecoder()
        async with open_stream(self._client, http_request, kind=OPENAI,
                               timeouts=self._timeouts, retry=self._retry,
                               sleep=self._sleep) as response:
            if response.status_code != 200:
                detail = await read_error_detail(response)
                raise status_error(response.status_code, detail, url=url, model=model)
            lines = response.aiter_lines()
            while not decoder.saw_done_marker:
                try:
                    line = await anext(lines)
                except StopAsyncIteration:
                    pending = sse.finish()
                    if pending is not None:
                        delta = decoder.feed(pending)
                        if delta is not None:
                            yield delta
                    break
                except httpx.HTTPError as exc:
                    if decoder.complete:
                        break  # finish_reason came; a server without [DONE] may just hang up
                    raise stream_broke(exc, kind=OPENAI, url=url, tokens=tokens,
                                       timeouts=self._timeouts) from exc
                event = sse.feed_line(line)
                if event is None:
                    continue
                delta = decoder.feed(event)
                if delta is not None:
                    if first_token_at is None:
                        first_token_at = self._clock()
                    tokens += 1
                    yield delta
            if decoder.saw_done_marker:
                await drain_tail(lines)
        if not decoder.complete:
            raise LLMError(
                f"the stream from the OpenAI-compatible server at {url} ended after {tokens}"
                " token(s) without a finish_reason or [DONE]; the reply is incomplete and was"
                " not retried"
            )
        ended = self._clock()
        yield decoder.done(
            duration_s=ended - started,
            generation_s=None if first_token_at is None else ended - first_token_at,
        )

    async def aclose(self) -> None:
        await self._client.aclose()
