"""The OpenAI-compatible backend: ``POST {base}/chat/completions`` with SSE streaming.

Works with llama.cpp's ``llama-server``, vLLM, LM Studio and Ollama's ``/v1``; ``base_url``
is the API root including ``/v1`` (``http://localhost:8080/v1``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import replace
from typing import Any, Final

import httpx

from worker.backends.backoff import DEFAULT_CONNECT_RETRY, ConnectRetry
from worker.backends.base import (
    ContextOverflow,
    GenerationDone,
    GenerationOptions,
    GenerationRequest,
    LLMError,
    LLMIncomplete,
    LLMUnavailable,
    TextDelta,
)
from worker.backends.context_overflow import context_overflow
from worker.backends.context_window import (
    ContextWindow,
    listing_window,
    llama_cpp_props_window,
)
from worker.backends.http_transport import (
    DEFAULT_TIMEOUTS,
    HTTPTimeouts,
    ServerKind,
    Sleep,
    StreamDeadline,
    drain_tail,
    get_json,
    make_client,
    next_line,
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
from worker.backends.sse import SSEDecoder, SSEEvent

OPENAI = ServerKind(
    display="the OpenAI-compatible server",
    url_variable="OPENAI_BASE_URL",
    start_hint=("e.g. `llama-server -m model.gguf -c 8192 --port {port}` or"
                " `python -m llama_cpp.server --model model.gguf --n_ctx 8192"
                " --interrupt_requests false --port {port}`"),
)


def status_error(status: int, detail: str, *, url: str, model: str, body: str = ""
                 ) -> LLMUnavailable | LLMError | ContextOverflow:
    """The error for a non-200 answer, shared by chat and embeddings; ``body`` is the raw
    error body (llama.cpp puts the context sizes in fields of its own)."""
    overflow = context_overflow(detail, body, server=f"the OpenAI-compatible server at {url}")
    if overflow is not None:
        return overflow
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


_PROBE_ATTEMPTS: Final = 3
"""Tries of the overflow question (see ``_raise_if_overflowing``): the first may meet the
failed stream's closing connection."""

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
        #: What the server said about its context window at the last passed ``check()``.
        self._props_window: ContextWindow | None = None
        self._listing: Any = None

    def context_window(self, options: GenerationOptions) -> ContextWindow | None:
        """The window the server reported at the last passed ``check()``: llama-server's
        ``/props`` first, then the model's ``/v1/models`` entry; ``None`` when it said
        neither (``worker.backends.context_window``)."""
        model = merge_options(self.defaults, options).model or ""
        return self._props_window or listing_window(self._listing, model)

    async def check(self) -> None:
        """Probe the server without disturbing a reply it may be streaming (to this worker or
        to any other): ``GET /health`` at the server's root first.

        llama-cpp-python's server ends the reply in progress whenever a request that touches
        the model arrives (its ``interrupt_requests``, on by default), and ``GET /v1/models``
        is one of them; it has no ``/health`` (404, which touches nothing). So only a server
        that answers ``/health`` with 200 (llama.cpp's ``llama-server``, vLLM) is asked
        ``GET {base}/models`` too, for the served model's name and context metadata, and
        ``GET /props`` (llama-server's context size, ``context_window``); a 404 means "up,
        nothing more to ask". Unreachable, 503 (llama-server still loading the model),
        another server error, a refused key or a listing that names several models but not ours →
        ``LLMUnavailable``. A single-model listing passes whatever its id, because
        single-model servers (llama.cpp) ignore the requested name."""
        health_url = str(httpx.URL(self.base_url).copy_with(path="/health", query=None))
        status, body = await get_json(self._client, health_url, kind=OPENAI,
                                      timeouts=self._timeouts)
        if status in (401, 403):
            error = status_error(status, str(body)[:300], url=health_url, model="")
            raise error if isinstance(error, LLMUnavailable) else LLMUnavailable(str(error))
        if status == 503:
            raise LLMUnavailable(
                f"the OpenAI-compatible server at {self.base_url} is not ready (HTTP 503 on"
                f" /health: {str(body)[:200]}); it is probably still loading the model",
                retryable=True,
            )
        if status >= 500:
            raise LLMUnavailable(
                f"the OpenAI-compatible server at {self.base_url} answered HTTP {status} to"
                " GET /health; check the server's log",
                retryable=True,
            )
        if status != 200:
            return
        await self._check_models()
        await self._read_props()

    async def _read_props(self) -> None:
        """llama-server's ``GET /props``, for its context size. Any failure (another server
        answers 404, a timeout) only leaves the window unknown: it never fails the check."""
        url = str(httpx.URL(self.base_url).copy_with(path="/props", query=None))
        try:
            _status, body = await get_json(self._client, url, kind=OPENAI,
                                           timeouts=self._timeouts)
        except LLMUnavailable:
            return
        self._props_window = llama_cpp_props_window(body)

    async def _check_models(self) -> None:
        url = f"{self.base_url}/models"
        status, body = await get_json(self._client, "models", kind=OPENAI,
                                      timeouts=self._timeouts)
        if status == 404:
            return
        if status != 200:
            error = status_error(status, str(body)[:300], url=url, model="")
            raise error if isinstance(error, LLMUnavailable) else LLMUnavailable(str(error))
        self._listing = body
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
        (wrong model or base URL) are ``LLMUnavailable``. A stream that ends (``[DONE]`` or
        end of body) before a ``finish_reason`` is ``LLMIncomplete``. Closing this generator
        closes the HTTP response at once.
        """
        options = merge_options(self.defaults, request.options)
        model = options.model or ""
        http_request = self._client.build_request(
            "POST", "chat/completions", json=chat_payload(request.messages, options)
        )
        url = str(http_request.url)
        started = self._clock()
        first_token_at: float | None = None
        decoder = ChatStreamDecoder(model)
        sse = SSEDecoder()
        deadline = StreamDeadline(self._timeouts)
        async with open_stream(self._client, http_request, kind=OPENAI,
                               timeouts=self._timeouts, retry=self._retry,
                               sleep=self._sleep, deadline=deadline) as response:
            if response.status_code != 200:
                detail, body = await read_error_detail(response)
                raise status_error(response.status_code, detail, url=url, model=model, body=body)
            lines = response.aiter_lines()
            while not decoder.saw_done_marker:
                try:
                    line = await next_line(lines, deadline, kind=OPENAI, url=url)
                except StopAsyncIteration:
                    pending = sse.finish()
                    if pending is not None:
                        delta = self._feed(decoder, pending, url)
                        if delta is not None:
                            deadline.token()
                            yield delta
                    break
                except httpx.HTTPError as exc:
                    if decoder.complete:
                        break  # finish_reason came; a server without [DONE] may just hang up
                    raise stream_broke(exc, kind=OPENAI, url=url, deadline=deadline) from exc
                event = sse.feed_line(line)
                if event is None:
                    continue
                delta = self._feed(decoder, event, url)
                if delta is not None:
                    if first_token_at is None:
                        first_token_at = self._clock()
                    deadline.token()
                    yield delta
            if decoder.saw_done_marker:
                await drain_tail(lines)
        if not decoder.complete:
            if deadline.tokens == 0 and not decoder.saw_done_marker:
                await self._raise_if_overflowing(request, options, url)
            ending = "[DONE]" if decoder.saw_done_marker else "the end of the response body"
            raise LLMIncomplete(
                f"the stream from the OpenAI-compatible server at {url} ended ({ending}) after"
                f" {deadline.tokens} token(s) without a finish_reason, so the reply was cut off"
                " (llama-cpp-python's server does this when another request arrives; start it"
                " with `--interrupt_requests false`); nothing was committed",
                details={"tokens": deadline.tokens},
            )
        ended = self._clock()
        yield decoder.done(
            duration_s=ended - started,
            generation_s=None if first_token_at is None else ended - first_token_at,
            counted_tokens=deadline.tokens,
        )

    async def _raise_if_overflowing(self, request: GenerationRequest,
                                    options: GenerationOptions, url: str) -> None:
        """A stream that ended before its first token may hide why: llama-cpp-python's
        server answers 200, then fails a prompt longer than its context inside the stream
        and closes it without a word. The same prompt asked once more without streaming and
        for one token gets the sized HTTP 400; raise ``ContextOverflow`` when that is what it
        says. Any other outcome leaves the stream's own verdict (incomplete) standing. Not
        after a ``[DONE]``: that is how the same server ends a reply another request
        interrupted, and asking again would interrupt that request in turn."""
        payload = chat_payload(request.messages, replace(options, max_tokens=1))
        payload["stream"] = False
        payload.pop("stream_options", None)
        response = None
        for _attempt in range(_PROBE_ATTEMPTS):
            try:
                response = await self._client.post("chat/completions", json=payload)
                break
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                # The server closed the kept-alive connection the failed stream used (as
                # llama-cpp-python does after that failure; httpx sees it as one of these,
                # depending on timing): the pool drops it, the next try opens a fresh one.
                continue
            except httpx.HTTPError:
                return
        if response is None or response.status_code == 200:
            return
        overflow = context_overflow(response.text, response.text,
                                    server=f"the OpenAI-compatible server at {url}")
        if overflow is not None:
            raise overflow

    def _feed(self, decoder: ChatStreamDecoder, event: SSEEvent, url: str) -> TextDelta | None:
        """``decoder.feed``, with a mid-stream context-overflow error recognised as such."""
        try:
            return decoder.feed(event)
        except LLMError as exc:
            overflow = context_overflow(str(exc), server=f"the OpenAI-compatible server at {url}")
            if overflow is not None:
                raise overflow from exc
            raise

    async def aclose(self) -> None:
        await self._client.aclose()
