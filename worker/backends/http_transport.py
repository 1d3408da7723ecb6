"""The HTTP shell shared by the Ollama and OpenAI-compatible backends.

It owns the three things both need and that are easy to get subtly wrong:

* **Connect retries.** A request is re-sent only when the TCP connection could not be opened
  (the server provably never saw it), a bounded number of times with backoff. Anything that
  fails after the request went out is reported, never retried.
* **Prompt release.** ``open_stream`` always closes the response when its block exits, by
  normal end, exception, ``aclose()`` of the generator around it, or task cancellation. httpx
  then drops the connection (a half-read response is never returned to the pool), so the LLM
  server sees the disconnect and stops generating.
* **Clear errors.** httpx exceptions become ``LLMUnavailable`` / ``LLMError`` whose message says
  which server, what happened and what to do.
"""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from worker.backends.backoff import ConnectRetry
from worker.backends.base import BackendError, LLMError, LLMTimeout, LLMUnavailable

Sleep = Callable[[float], Awaitable[None]]

# Error bodies are read only this far: enough for any JSON error, bounded against a server
# that answers an error status with a stream.
MAX_ERROR_BODY_BYTES = 64 * 1024
# A health check reads a small listing; it never waits as long as a generation may.
CHECK_READ_TIMEOUT_S = 10.0
# After a stream said it is finished, its tail (normally just the closing chunk) is read for
# at most this long so the connection can go back to the pool; past it the connection is
# dropped instead.
TAIL_DRAIN_S = 1.0


@dataclass(frozen=True, slots=True)
class HTTPTimeouts:
    """``connect_s``: to open the TCP connection. ``first_token_s``: the longest wait from
    sending a request to its first token (queueing, loading the model, reading the prompt) or,
    for a request that is not streamed (embeddings), to its whole answer. ``silence_s``: the
    longest gap between two tokens once a reply streams. Nothing bounds a reply's total length:
    a reply that keeps making progress is never cut off."""

    connect_s: float = 5.0
    first_token_s: float = 300.0
    silence_s: float = 60.0

    def for_stream(self) -> httpx.Timeout:
        # A backstop only: the stream readers enforce first_token_s and silence_s themselves
        # (``StreamDeadline``), since httpx's read timeout restarts on every byte (keep-alive
        # comments included) and cannot tell the first token from the next.
        read = max(self.first_token_s, self.silence_s)
        return httpx.Timeout(connect=self.connect_s, read=read, write=read, pool=self.connect_s)

    def for_check(self) -> httpx.Timeout:
        read = min(self.first_token_s, CHECK_READ_TIMEOUT_S)
        return httpx.Timeout(connect=self.connect_s, read=read, write=read, pool=self.connect_s)


DEFAULT_TIMEOUTS = HTTPTimeouts()


class StreamDeadline:
    """When the next token of one streamed reply is due, on the event loop's clock.

    Starts at ``first_token_s`` from the request; every token moves it to ``silence_s`` from
    that token. Lines that carry no token (SSE comments, keep-alive pings, a role-only chunk)
    do not move it, so a server that pings while it reads the prompt still meets the
    first-token limit. Costs one float per token.
    """

    __slots__ = ("_loop", "_timeouts", "due_at", "tokens")

    def __init__(self, timeouts: HTTPTimeouts) -> None:
        self._loop = asyncio.get_running_loop()
        self._timeouts = timeouts
        self.tokens = 0
        self.due_at = self._loop.time() + timeouts.first_token_s

    def token(self) -> None:
        self.tokens += 1
        self.due_at = self._loop.time() + self._timeouts.silence_s

    def expired(self, kind: ServerKind, url: str) -> LLMTimeout:
        if self.tokens == 0:
            return LLMTimeout(
                f"{kind.display} at {url} sent no token within"
                f" {self._timeouts.first_token_s:g}s of the request"
                " (GREENROOM_LLM_FIRST_TOKEN_TIMEOUT: the wait for a free slot, the model"
                " loading and the prompt being read); raise it for a slow machine or a long"
                " prompt, or check the server's log",
                details={"limit": "first_token", "limit_s": self._timeouts.first_token_s},
            )
        return LLMTimeout(
            f"the stream from {kind.display} at {url} sent no token for"
            f" {self._timeouts.silence_s:g}s after {self.tokens} token(s)"
            " (GREENROOM_LLM_SILENCE_TIMEOUT); the reply is incomplete and was not committed",
            details={"limit": "silence", "limit_s": self._timeouts.silence_s,
                     "tokens": self.tokens},
        )


async def next_line(lines: AsyncIterator[str], deadline: StreamDeadline, *,
                    kind: ServerKind, url: str) -> str:
    """The next line of a streamed body, or ``LLMTimeout`` once ``deadline`` has passed.
    Raises ``StopAsyncIteration`` at the end of the body and httpx errors as they come."""
    try:
        async with asyncio.timeout_at(deadline.due_at):
            return await anext(lines)
    except TimeoutError:
        raise deadline.expired(kind, url) from None


@dataclass(frozen=True, slots=True)
class ServerKind:
    """How to name a kind of LLM server in an error message, and how to bring it up.

    ``start_hint`` may name ``{port}``: it is filled with the port of the URL that could not
    be reached, so the hint matches the configuration instead of a fixed default."""

    display: str
    url_variable: str
    start_hint: str

    def unreachable(self, url: str, reason: str) -> LLMUnavailable:
        parsed = httpx.URL(url)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        return LLMUnavailable(
            f"cannot reach {self.display} at {url} ({reason}); start it with"
            f" {self.start_hint.format(port=port)} or point {self.url_variable} at a running"
            " server",
            retryable=True,
        )


def describe(exc: BaseException) -> str:
    """A one-line reason for a transport exception (httpx messages can be empty)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@functools.cache
def shared_tls_context() -> ssl.SSLContext:
    """The TLS context of every client: what httpx builds for ``verify=True`` without
    ``trust_env`` (certifi's CA bundle), built once per process instead of once per client
    (loading the bundle costs ~15 ms). A context is safe to share between clients; one built
    in the fork server before any thread exists is inherited by every worker."""
    return httpx.create_ssl_context(trust_env=False)


def make_client(
    base_url: str, timeouts: HTTPTimeouts, headers: dict[str, str] | None = None
) -> httpx.AsyncClient:
    """One pooled client per backend; ``trust_env=False`` so an HTTP_PROXY meant for the
    internet never captures requests to a local model server."""
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/") + "/",
        timeout=timeouts.for_stream(),
        headers=headers,
        trust_env=False,
        verify=shared_tls_context(),
    )


@asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient,
    request: httpx.Request,
    *,
    kind: ServerKind,
    timeouts: HTTPTimeouts,
    retry: ConnectRetry,
    sleep: Sleep = asyncio.sleep,
    deadline: StreamDeadline | None = None,
) -> AsyncIterator[httpx.Response]:
    """Send ``request`` and yield the streaming response (headers read, body not yet).

    Raises ``LLMUnavailable`` when no connection could be opened after ``retry.attempts``
    tries, or when connecting timed out (not retried: waiting again would double a wait the
    user already found too long); ``LLMTimeout`` when ``deadline`` passes before the headers
    came (servers that send them with the first token). The response is closed when the
    block exits, however it exits.
    """
    url = str(request.url)
    failures = 0
    while True:
        try:
            if deadline is None:
                response = await client.send(request, stream=True)
            else:
                async with asyncio.timeout_at(deadline.due_at):
                    response = await client.send(request, stream=True)
            break
        except TimeoutError:
            assert deadline is not None  # only our own timeout raises the builtin
            raise deadline.expired(kind, url) from None
        except httpx.ConnectTimeout as exc:
            raise kind.unreachable(
                url, f"no connection within {timeouts.connect_s:g}s, GREENROOM_LLM_CONNECT_TIMEOUT"
            ) from exc
        except httpx.ConnectError as exc:
            failures += 1
            if failures >= retry.attempts:
                raise kind.unreachable(
                    url, f"{describe(exc)}; tried {failures} time(s)"
                ) from exc
            await sleep(retry.backoff.delay_s(failures))
        except httpx.TimeoutException as exc:
            raise LLMTimeout(
                f"{kind.display} at {url} did not answer within {timeouts.first_token_s:g}s"
                " (GREENROOM_LLM_FIRST_TOKEN_TIMEOUT); is the model still loading?"
            ) from exc
        except httpx.HTTPError as exc:
            raise LLMError(
                f"{kind.display} at {url} failed before answering: {describe(exc)}"
            ) from exc
    try:
        yield response
    finally:
        await response.aclose()


async def drain_tail(lines: AsyncIterator[str]) -> None:
    """Read what is left of a stream whose reply is complete, for at most ``TAIL_DRAIN_S``
    (read at each call, so a test can make a drain wait forever); never raises (a connection
    that cannot be drained is simply not reused)."""
    try:
        async with asyncio.timeout(TAIL_DRAIN_S):
            async for _ in lines:
                pass
    except (TimeoutError, httpx.HTTPError):
        pass


def stream_broke(exc: httpx.HTTPError, *, kind: ServerKind, url: str,
                 deadline: StreamDeadline) -> BackendError:
    """The error for a response that failed after streaming began; it is never retried."""
    if isinstance(exc, httpx.TimeoutException):
        return deadline.expired(kind, url)
    return LLMError(
        f"the stream from {kind.display} at {url} broke ({describe(exc)}) after"
        f" {deadline.tokens} token(s); the reply is incomplete and was not retried"
    )


async def read_error_detail(response: httpx.Response) -> tuple[str, str]:
    """The server's own explanation of an error status, and the raw body it came from: the
    explanation is ``error`` / ``error.message`` of a JSON body, else the start of the body
    text, else the status phrase."""
    body = bytearray()
    try:
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) >= MAX_ERROR_BODY_BYTES:
                break
    except httpx.HTTPError:
        pass  # the status line already says it failed; the body is only a better wording
    text = body[:MAX_ERROR_BODY_BYTES].decode("utf-8", "replace").strip()
    detail = error_text(text) or response.reason_phrase or f"HTTP {response.status_code}"
    return detail, text


def error_text(body: str) -> str:
    """Pull a human message out of an error body in the Ollama or OpenAI shape."""
    try:
        decoded: Any = json.loads(body)
    except ValueError:
        return body[:500]
    if isinstance(decoded, dict):
        error = decoded.get("error", decoded.get("message"))
        if isinstance(error, dict):
            error = error.get("message", error)
        if error is not None:
            return str(error)
    return body[:500]


async def get_json(
    client: httpx.AsyncClient, path: str, *, kind: ServerKind, timeouts: HTTPTimeouts
) -> tuple[int, Any]:
    """GET ``path`` once (a health check: no retry) and return ``(status, decoded JSON or
    None)``. Unreachable → ``LLMUnavailable``."""
    url = str(client.base_url.join(path))
    try:
        response = await client.get(path, timeout=timeouts.for_check())
    except httpx.ConnectTimeout as exc:
        raise kind.unreachable(url, f"no connection within {timeouts.connect_s:g}s") from exc
    except httpx.ConnectError as exc:
        raise kind.unreachable(url, describe(exc)) from exc
    except httpx.HTTPError as exc:
        raise LLMUnavailable(
            f"{kind.display} at {url} did not answer a health check: {describe(exc)}",
            retryable=True,
        ) from exc
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, None


async def post_json(
    client: httpx.AsyncClient,
    path: str,
    payload: dict[str, Any],
    *,
    kind: ServerKind,
    timeouts: HTTPTimeouts,
    retry: ConnectRetry,
    sleep: Sleep = asyncio.sleep,
) -> tuple[int, Any, str]:
    """POST a JSON body (connect retries as ``open_stream``) and read the whole JSON answer.

    Returns ``(status, decoded JSON or None, error detail for a non-2xx status)``.
    """
    request = client.build_request("POST", path, json=payload)
    async with open_stream(
        client, request, kind=kind, timeouts=timeouts, retry=retry, sleep=sleep
    ) as response:
        if response.status_code >= 300:
            detail, _body = await read_error_detail(response)
            return response.status_code, None, detail
        try:
            body = await response.aread()
        except httpx.HTTPError as exc:
            raise LLMError(
                f"{kind.display} at {request.url} broke while answering: {describe(exc)}"
            ) from exc
    try:
        return response.status_code, json.loads(body), ""
    except ValueError as exc:
        raise LLMError(
            f"{kind.display} at {request.url} answered with invalid JSON: {body[:200]!r}"
        ) from exc
