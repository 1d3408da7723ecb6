"""The Ollama backend: native ``POST /api/chat`` streaming over httpx."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncGenerator

import httpx
import structlog

from worker.backends.backoff import DEFAULT_CONNECT_RETRY, ConnectRetry
from worker.backends.base import (
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
    OllamaModelFacts,
    ollama_model_facts,
    ollama_window,
)
from worker.backends.http_transport import (
    DEFAULT_TIMEOUTS,
    HTTPTimeouts,
    ServerKind,
    Sleep,
    StreamDeadline,
    describe,
    drain_tail,
    get_json,
    make_client,
    next_line,
    open_stream,
    read_error_detail,
    stream_broke,
)
from worker.backends.ollama_wire import (
    chat_payload,
    decode_chat_line,
    installed_models,
    is_model_not_found,
    model_missing,
    model_tag_matches,
)
from worker.backends.options import merge_options

log = structlog.get_logger()

OLLAMA = ServerKind(display="Ollama", url_variable="OLLAMA_BASE_URL", start_hint="`ollama serve`")


class OllamaBackend:
    """Streams replies from an Ollama server.

    ``defaults`` fill every option a request leaves ``None`` (see ``options.default_options``);
    it must name a model. One pooled HTTP client per backend; ``aclose()`` releases it.
    Not safe to share across event loops.
    """

    name = "ollama"

    def __init__(
        self,
        base_url: str,
        defaults: GenerationOptions,
        *,
        timeouts: HTTPTimeouts = DEFAULT_TIMEOUTS,
        retry: ConnectRetry = DEFAULT_CONNECT_RETRY,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if defaults.model is None:
            raise ValueError("OllamaBackend needs a default model (OLLAMA_MODEL)")
        self.base_url = base_url.rstrip("/")
        self.defaults = defaults
        self._timeouts = timeouts
        self._retry = retry
        self._sleep = sleep
        self._client = make_client(self.base_url, timeouts)
        #: What ``/api/show`` said about each model, once ``check()`` has asked.
        self._facts: dict[str, OllamaModelFacts] = {}

    def context_window(self, options: GenerationOptions) -> ContextWindow | None:
        """The ``num_ctx`` a request with ``options`` sends, lowered to the model's trained
        context length once ``check()`` has read it (``worker.backends.context_window``)."""
        merged = merge_options(self.defaults, options)
        return ollama_window(merged.num_ctx, self._facts.get(merged.model or ""))

    async def check(self) -> None:
        """``GET /api/tags``: raise ``LLMUnavailable`` if the server is down, answers an
        error, or lacks the default model. One attempt, bounded by the timeouts. Then
        ``POST /api/show`` for the model's context length (``context_window``); a failure
        of that is logged and leaves the window as ``num_ctx`` says, never fails the check."""
        status, body = await get_json(self._client, "api/tags", kind=OLLAMA,
                                      timeouts=self._timeouts)
        if status != 200:
            raise LLMUnavailable(
                f"Ollama at {self.base_url} answered HTTP {status} to GET /api/tags;"
                " check the server's log",
                retryable=True,
            )
        model = self.defaults.model or ""
        try:
            names = installed_models(body)
        except LLMError as exc:
            raise LLMUnavailable(str(exc)) from exc
        if not any(model_tag_matches(model, name) for name in names):
            installed = ", ".join(sorted(names)) or "none"
            raise model_missing(model, self.base_url, f"installed: {installed}")
        await self._read_model_facts(model)

    async def _read_model_facts(self, model: str) -> None:
        try:
            response = await self._client.post("api/show", json={"model": model},
                                               timeout=self._timeouts.for_check())
            body = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as exc:
            log.info("llm_model_facts_unknown", model=model, error=describe(exc))
            return
        if body is None:
            log.info("llm_model_facts_unknown", model=model,
                     error=f"HTTP {response.status_code} from POST /api/show")
            return
        self._facts[model] = ollama_model_facts(body)

    async def generate(
        self, request: GenerationRequest
    ) -> AsyncGenerator[TextDelta | GenerationDone, None]:
        """Yield each delta the moment its line arrives, then one ``GenerationDone``.

        Errors: ``LLMUnavailable`` (server unreachable after connect retries, model not
        installed), ``LLMError`` (error status, ``{"error"}`` line mid-stream, broken or
        silent stream, stream ending without its final line). Closing this generator closes
        the HTTP response at once.
        """
        options = merge_options(self.defaults, request.options)
        model = options.model or ""
        http_request = self._client.build_request(
            "POST", "api/chat", json=chat_payload(request.messages, options)
        )
        url = str(http_request.url)
        deadline = StreamDeadline(self._timeouts)
        async with open_stream(self._client, http_request, kind=OLLAMA,
                               timeouts=self._timeouts, retry=self._retry,
                               sleep=self._sleep, deadline=deadline) as response:
            if response.status_code != 200:
                detail, body = await read_error_detail(response)
                if is_model_not_found(response.status_code, detail):
                    raise model_missing(model, self.base_url, detail)
                overflow = context_overflow(detail, body, server=f"Ollama at {url}")
                if overflow is not None:
                    raise overflow
                raise LLMError(
                    f"Ollama at {url} answered HTTP {response.status_code}: {detail}",
                    retryable=response.status_code == 503,
                )
            final: GenerationDone | None = None
            lines = response.aiter_lines()
            while final is None:
                try:
                    line = await next_line(lines, deadline, kind=OLLAMA, url=url)
                except StopAsyncIteration:
                    break
                except httpx.HTTPError as exc:
                    raise stream_broke(exc, kind=OLLAMA, url=url, deadline=deadline) from exc
                if not line.strip():
                    continue
                try:
                    event = decode_chat_line(line, requested_model=model)
                except LLMError as exc:
                    overflow = context_overflow(str(exc), server=f"Ollama at {url}")
                    if overflow is not None:
                        raise overflow from exc
                    raise
                if isinstance(event, TextDelta):
                    deadline.token()
                    yield event
                elif isinstance(event, GenerationDone):
                    trailing = event.extra.pop("trailing_text", "")
                    if isinstance(trailing, str) and trailing:
                        deadline.token()
                        yield TextDelta(trailing)
                    final = event
                    await drain_tail(lines)
        if final is None:
            raise LLMIncomplete(
                f"the stream from Ollama at {url} ended after {deadline.tokens} token(s)"
                " without its final `done: true` line, so the reply was cut off; nothing was"
                " committed",
                details={"tokens": deadline.tokens},
            )
        if final.completion_tokens is None:
            final = dataclasses.replace(final, completion_tokens=deadline.tokens,
                                        usage_source="counted")
        yield final

    async def aclose(self) -> None:
        await self._client.aclose()
