"""Real HTTP/1.1 servers that speak Ollama's and the OpenAI API's streaming wire formats.

They run in the test's event loop on ``127.0.0.1`` (port 0 unless a port is given), written
on ``asyncio.start_server`` with no HTTP library, so what a backend receives is exactly the
bytes below: chunked transfer encoding, NDJSON lines for Ollama, SSE events for OpenAI.

Reusable by the backend tests, the integration tests and ``bench/ttft_bench.py``::

    async with FakeOllamaServer(models=["llama3.2:latest"]) as server:
        server.script = StreamScript(tokens=["Hi", "!"], token_delay_s=0.05)
        ...  # point OLLAMA_BASE_URL at server.base_url
        assert server.stats.requests["POST /api/chat"] == 1

A ``StreamScript`` says what every chat request is answered with (``queue_script`` sets a
one-off for the next reply request): tokens, the delay between them, holding after *n* tokens until
``release()``, an error line or abrupt connection abort after *n* tokens, an error status,
``length`` finish, or no finish at all (``finish_reason=None``: a bare ``[DONE]`` for OpenAI,
no ``done: true`` line for Ollama). ``stats`` counts requests, tokens written and client
disconnects; ``disconnected`` is set the moment a client drops a stream the server was still
writing. ``spans`` records every chat request's time at the server (arrival to end of its
answer, ``ChatSpan``) with a label (``label_of`` its body: ``"notes"`` for greenroom's
background note-taking, else ``"reply"``); ``overlapping`` lists the background requests
that arrived while a reply was streaming.

llama.cpp behaviours, for the OpenAI fake: ``interrupt_requests=True`` ends a running stream
with a bare ``[DONE]`` when another request touching the model arrives (llama-cpp-python's
default), ``serve_health=False`` answers ``/health`` with 404 (llama-cpp-python has none),
``health_status=503`` is llama-server loading its model, ``per_token_embeddings=True`` returns
one vector per token (a GGUF without a pooling type), ``LLAMA_CPP_OVERFLOW`` /
``LLAMA_CPP_PYTHON_OVERFLOW`` are their context-overflow error bodies (with ``status=400``),
``props_n_ctx`` makes it answer llama-server's ``GET /props`` and ``model_fields`` adds
context metadata to the ``/v1/models`` entries (vLLM's ``max_model_len``). The Ollama fake
answers ``POST /api/show`` with the model's ``context_length`` (and a Modelfile ``num_ctx``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import socket
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

#: llama.cpp's llama-server answering a prompt of 1131 tokens with ``-c 1024`` (HTTP 400).
LLAMA_CPP_OVERFLOW = {"error": {
    "code": 400, "type": "exceed_context_size_error", "n_prompt_tokens": 1131, "n_ctx": 1024,
    "message": "request (1131 tokens) exceeds the available context size (1024 tokens), try"
               " increasing it"}}
#: llama-cpp-python's server, same prompt, ``--n_ctx 1024`` (HTTP 400, its error formatter).
LLAMA_CPP_PYTHON_OVERFLOW = {"error": {
    "message": "This model's maximum context length is 1024 tokens. However, you requested 1131"
               " tokens (1131 in the messages, 0 in the completion). Please reduce the length"
               " of the messages or completion.",
    "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}

REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
           500: "Internal Server Error", 503: "Service Unavailable"}


@dataclass
class StreamScript:
    """How the fake server answers a chat request. Counts are in tokens written."""

    tokens: Sequence[str] = ("Hello", ",", " world", "!")
    token_delay_s: float = 0.0
    first_token_delay_s: float = 0.0  # the model reading the prompt
    hold_after: int | None = None
    error_after: int | None = None
    error_message: str = "model runner has unexpectedly stopped"
    die_after: int | None = None
    status: int = 200
    error_body: Any = None
    finish_reason: str | None = "stop"  # None: the stream ends without saying it finished
    prompt_tokens: int = 7
    send_usage: bool = True
    # OpenAI only:
    sse_comments: bool = True
    split_data_lines: bool = False
    send_done_marker: bool = True
    error_style: str = "data"  # "data": data: {"error": ...}; "field": llama.cpp's error: {...}
    # llama-cpp-python after failing a prompt inside its stream: the kept-alive connection
    # is closed when the next request arrives on it, without an answer.
    then_drop_connection: bool = False


NOTES_MARKER = "You keep notes about the person"
"""Only greenroom's background note-taking requests (``model_memory_text``) say this."""


def notes_or_reply(body: bytes) -> str:
    """The default ``label_of``: ``"notes"`` for a note-taking request, else ``"reply"``."""
    return "notes" if NOTES_MARKER.encode() in body else "reply"


@dataclass
class ChatSpan:
    """One chat request at the server: ``label``, arrival and end (monotonic seconds; ``ended``
    is ``None`` while it runs), and whether another request's arrival interrupted it."""

    label: str
    began: float
    ended: float | None = None
    interrupted: bool = False

    def open_at(self, moment: float) -> bool:
        return self.began <= moment and (self.ended is None or moment < self.ended)


def overlapping(spans: Sequence[ChatSpan], *, background: str = "notes"
                ) -> list[tuple[ChatSpan, ChatSpan]]:
    """``(background request, reply)`` for every ``background`` request that arrived while
    a reply (any other label) was streaming — what the cross-process guard forbids."""
    return [(later, reply) for later in spans if later.label == background
            for reply in spans if reply.label != background and reply is not later
            and reply.open_at(later.began)]


@dataclass
class ServerStats:
    requests: Counter[str] = field(default_factory=Counter)
    connections: int = 0
    tokens_written: int = 0
    disconnects: int = 0
    dropped_requests: int = 0
    bodies: list[Any] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


@dataclass
class _Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class _Disconnected(Exception):
    """The client went away while the server was streaming."""


class FakeLLMServer:
    """The HTTP plumbing shared by both fakes; subclasses implement ``_route``."""

    def __init__(
        self,
        *,
        models: Sequence[str] = ("llama3.2:latest",),
        script: StreamScript | None = None,
        port: int = 0,
        embedding_dim: int = 8,
        label_of: Callable[[bytes], str] = notes_or_reply,
    ) -> None:
        self.models = list(models)
        self.label_of = label_of
        #: Every chat request's time at the server, in arrival order.
        self.spans: list[ChatSpan] = []
        self._spans_by_handler: dict[asyncio.Task[None], ChatSpan] = {}
        self._span_added = asyncio.Event()
        self.script = script or StreamScript()
        self.embedding_dim = embedding_dim
        self.stats = ServerStats()
        self.disconnected = asyncio.Event()
        self.holding = asyncio.Event()
        self.first_token_written = asyncio.Event()
        self._release = asyncio.Event()
        self._queued: deque[tuple[StreamScript, str | None]] = deque()
        self._interrupts: set[asyncio.Event] = set()
        self._port = port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._dropping: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self._port)
        self._port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop every open connection (like a killed server)."""
        if self._server is None:
            return
        self._server.close()
        # Aborting the sockets ends every handler by itself (its reads see the connection
        # lost); cancelling is only the fallback, since a cancelled handler task makes
        # asyncio's stream protocol log a spurious traceback on Python 3.11.
        for writer in list(self._writers):
            writer.transport.abort()
        self._release.set()
        if self._handlers:
            _, stuck = await asyncio.wait(set(self._handlers), timeout=1.0)
            for task in stuck:
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """What to configure as the backend's base URL (OLLAMA_BASE_URL, OPENAI_BASE_URL)."""
        return self.root_url

    # -- scripting -------------------------------------------------------------------------

    def queue_script(self, script: StreamScript, *, for_text: str | None = None) -> None:
        """Answer the next reply request with ``script``, later ones with ``self.script``
        (a character's background note-taking, which may reach the server late under
        load, never takes a script meant for a reply). With ``for_text``: the next request
        of any kind whose body contains it (other characters' traffic on the same server
        keeps the default script)."""
        self._queued.append((script, for_text))

    async def wait_for_span(self, label: str, *, after: int = 0) -> ChatSpan:
        """The first request labelled ``label`` from ``spans[after]`` on, once it arrived."""
        while True:
            found = next((span for span in self.spans[after:] if span.label == label), None)
            if found is not None:
                return found
            self._span_added.clear()  # no await since the look: nothing can slip in
            await self._span_added.wait()

    def last_reply_body(self) -> Any:
        """The JSON body of the newest reply request: a character's background note-taking
        may reach the server after the reply it follows."""
        return next(body for body in reversed(self.stats.bodies)
                    if self.label_of(json.dumps(body).encode()) == "reply")

    def release(self) -> None:
        """Let a stream held by ``hold_after`` continue."""
        self._release.set()

    def interrupted_ending(self) -> bytes:
        """What an interrupted stream ends with (only the OpenAI fake interrupts)."""
        return b""

    def _next_script(self, body: bytes) -> StreamScript:
        span = ChatSpan(self.label_of(body), time.monotonic())
        self.spans.append(span)
        self._span_added.set()
        handler = asyncio.current_task()
        if handler is not None:
            self._spans_by_handler[handler] = span
        text = body.decode(errors="replace")
        for queued in self._queued:
            script, for_text = queued
            if for_text in text if for_text is not None else span.label == "reply":
                self._queued.remove(queued)
                return script
        return self.script

    def has_model(self, name: str) -> bool:
        def tagged(n: str) -> str:
            return n if ":" in n.rsplit("/", 1)[-1] else n + ":latest"

        return any(tagged(name) == tagged(m) for m in self.models)

    def embedding(self, text: str) -> list[float]:
        digest = hashlib.sha256(text.encode()).digest()
        return [round(digest[i % len(digest)] / 255.0, 6) for i in range(self.embedding_dim)]

    # -- HTTP/1.1 --------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        self.stats.connections += 1
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                if writer in self._dropping:
                    self._dropping.discard(writer)
                    self.stats.dropped_requests += 1
                    return
                self.stats.requests[f"{request.method} {request.path}"] += 1
                self.stats.headers.append(request.headers)
                with contextlib.suppress(ValueError):
                    self.stats.bodies.append(request.json())
                try:
                    if not await self._route(request, reader, writer):
                        return
                finally:
                    self._end_span(task)
        except (ConnectionError, asyncio.IncompleteReadError, _Disconnected):
            pass
        finally:
            self._writers.discard(writer)
            self._handlers.discard(task)
            writer.transport.abort()

    async def _route(
        self, request: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer one request; return False to close the connection afterwards."""
        raise NotImplementedError

    def _end_span(self, handler: asyncio.Task[None]) -> None:
        span = self._spans_by_handler.pop(handler, None)
        if span is not None:
            span.ended = time.monotonic()

    async def _send_json(self, writer: asyncio.StreamWriter, status: int, body: Any) -> bool:
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        head = (f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\n"
                f"Content-Type: application/json; charset=utf-8\r\n"
                f"Content-Length: {len(data)}\r\n\r\n")
        writer.write(head.encode() + data)
        await writer.drain()
        return True

    async def _stream(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        content_type: str,
        pieces: list[tuple[str, bytes]],
        script: StreamScript,
    ) -> bool:
        """Write ``pieces`` as chunked body parts. A piece's kind is ``token`` (counted, then
        paced by the script), ``error`` or ``other``. Returns False when the connection must
        close: the client disconnected, or the script killed it."""
        writer.write((f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n").encode())
        await writer.drain()
        watcher = asyncio.create_task(reader.read(1))
        interrupt = asyncio.Event()
        self._interrupts.add(interrupt)
        handler = asyncio.current_task()
        span = self._spans_by_handler.get(handler) if handler is not None else None
        writing = asyncio.create_task(self._write_pieces(writer, pieces, script, interrupt,
                                                         span))
        try:
            await asyncio.wait({watcher, writing}, return_when=asyncio.FIRST_COMPLETED)
            if writing.done():
                return writing.result()
            # The watcher finished first: EOF (or unexpected bytes) while still streaming.
            self._note_disconnect()
            return False
        except ConnectionError:
            self._note_disconnect()
            return False
        finally:
            self._interrupts.discard(interrupt)
            for task in (watcher, writing):
                task.cancel()
            await asyncio.gather(watcher, writing, return_exceptions=True)

    def _note_disconnect(self) -> None:
        self.stats.disconnects += 1
        self.disconnected.set()

    def interrupt_streams(self) -> None:
        """End every running stream the way llama-cpp-python does for a new request."""
        for interrupt in self._interrupts:
            interrupt.set()

    async def _write_pieces(
        self, writer: asyncio.StreamWriter, pieces: list[tuple[str, bytes]], script: StreamScript,
        interrupt: asyncio.Event, span: ChatSpan | None = None,
    ) -> bool:
        written = 0
        for kind, data in pieces:
            if script.die_after is not None and written >= script.die_after:
                writer.transport.abort()
                return False
            if kind == "token" and written > 0 and script.token_delay_s:
                await asyncio.sleep(script.token_delay_s)
            if kind == "token" and written == 0 and script.first_token_delay_s:
                await asyncio.sleep(script.first_token_delay_s)
            if kind == "token" and script.hold_after is not None and written == script.hold_after:
                self.holding.set()
                released = asyncio.create_task(self._release.wait())
                interrupted = asyncio.create_task(interrupt.wait())
                try:
                    await asyncio.wait({released, interrupted},
                                       return_when=asyncio.FIRST_COMPLETED)
                finally:  # also when the client disconnects while held (cancel)
                    if released.done():  # a hold given up leaves the release to another
                        self._release.clear()
                    released.cancel()
                    interrupted.cancel()
                    self.holding.clear()
            if interrupt.is_set():
                if span is not None:
                    span.interrupted = True
                data = self.interrupted_ending()
                writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                break
            writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            await writer.drain()
            if kind == "token":
                written += 1
                self.stats.tokens_written += 1
                self.first_token_written.set()
            if kind == "error":
                break
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return _Request(method, target.split("?", 1)[0], headers, body)


class FakeOllamaServer(FakeLLMServer):
    """Speaks ``GET /api/tags``, ``POST /api/show``, ``POST /api/chat`` (NDJSON stream),
    ``POST /api/embed``.

    ``/api/show`` answers as Ollama does: ``model_info`` with ``llama.context_length``
    (``context_length``) and the Modelfile's ``parameters`` text, with a ``num_ctx`` line
    when ``modelfile_num_ctx`` is set.
    """

    def __init__(self, *, context_length: int = 131072, modelfile_num_ctx: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.context_length = context_length
        self.modelfile_num_ctx = modelfile_num_ctx

    def show(self, model: str) -> dict[str, Any]:
        parameters = 'stop                           "<|eot_id|>"'
        if self.modelfile_num_ctx is not None:
            parameters = f"num_ctx                        {self.modelfile_num_ctx}\n{parameters}"
        return {
            "modelfile": f"FROM {model}\n", "parameters": parameters,
            "template": "{{ .Prompt }}", "modified_at": "2025-01-01T00:00:00Z",
            "details": {"parent_model": "", "format": "gguf", "family": "llama",
                        "families": ["llama"], "parameter_size": "3.2B",
                        "quantization_level": "Q4_K_M"},
            "model_info": {"general.architecture": "llama", "general.parameter_count": 3212749888,
                           "llama.block_count": 28, "llama.context_length": self.context_length,
                           "llama.embedding_length": 3072},
            "capabilities": ["completion", "tools"],
        }

    async def _route(
        self, request: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        route = (request.method, request.path)
        if route == ("GET", "/api/tags"):
            return await self._send_json(writer, 200, {"models": [
                {"name": m, "model": m, "modified_at": "2025-01-01T00:00:00Z", "size": 1,
                 "digest": "0" * 64, "details": {"format": "gguf"}} for m in self.models]})
        body = request.json() or {}
        model = str(body.get("model", ""))
        if route in {("POST", "/api/chat"), ("POST", "/api/embed"), ("POST", "/api/show")} and (
            not self.has_model(model)
        ):
            return await self._send_json(
                writer, 404, {"error": f'model "{model}" not found, try pulling it first'})
        if route == ("POST", "/api/show"):
            return await self._send_json(writer, 200, self.show(model))
        if route == ("POST", "/api/embed"):
            inputs = body.get("input")
            texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
            return await self._send_json(writer, 200, {
                "model": model, "embeddings": [self.embedding(t) for t in texts],
                "total_duration": 1000, "prompt_eval_count": len(texts)})
        if route == ("POST", "/api/chat"):
            return await self._chat(request, model, reader, writer)
        return await self._send_json(writer, 404, {"error": "404 page not found"})

    async def _chat(self, request: _Request, model: str, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> bool:
        script = self._next_script(request.body)
        if script.status != 200:
            return await self._send_json(writer, script.status,
                                         script.error_body or {"error": script.error_message})
        created = "2025-01-01T00:00:00.000000Z"

        def line(obj: dict[str, Any]) -> bytes:
            return json.dumps(obj).encode() + b"\n"

        pieces: list[tuple[str, bytes]] = []
        for index, token in enumerate(script.tokens):
            if script.error_after is not None and index == script.error_after:
                pieces.append(("error", line({"error": script.error_message})))
                break
            pieces.append(("token", line({"model": model, "created_at": created, "message": {
                "role": "assistant", "content": token}, "done": False})))
        else:
            count = len(script.tokens)
            if script.finish_reason is None:
                return await self._stream(reader, writer, "application/x-ndjson", pieces, script)
            final: dict[str, Any] = {
                "model": model, "created_at": created,
                "message": {"role": "assistant", "content": ""}, "done": True,
                "done_reason": script.finish_reason}
            if script.send_usage:
                final.update({
                    "total_duration": 2_000_000_000, "load_duration": 500_000_000,
                    "prompt_eval_count": script.prompt_tokens,
                    "prompt_eval_duration": 100_000_000,
                    "eval_count": count, "eval_duration": count * 20_000_000})
            pieces.append(("other", line(final)))
        return await self._stream(reader, writer, "application/x-ndjson", pieces, script)


class FakeOpenAIServer(FakeLLMServer):
    """Speaks ``GET /v1/models``, ``POST /v1/chat/completions`` (SSE), ``POST /v1/embeddings``.

    ``api_key``: when set, every request must carry ``Authorization: Bearer <api_key>``.
    ``serve_models``: False answers 404 to ``/v1/models`` like servers without that route.
    ``props_n_ctx``: answer ``GET /props`` as llama-server does, with that per-slot context in
    ``default_generation_settings.n_ctx`` (``None``: 404, like servers without ``/props``).
    ``model_fields``: extra fields of each ``/v1/models`` entry (vLLM's ``max_model_len``,
    llama-server's ``meta``).
    """

    def __init__(self, *, api_key: str | None = None, serve_models: bool = True,
                 models: Sequence[str] = ("local-model",), serve_health: bool = True,
                 health_status: int = 200, interrupt_requests: bool = False,
                 per_token_embeddings: bool = False, props_n_ctx: int | None = None,
                 model_fields: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(models=models, **kwargs)
        self.props_n_ctx = props_n_ctx
        self.model_fields = dict(model_fields or {})
        self.api_key = api_key
        self.serve_models = serve_models
        self.serve_health = serve_health
        self.health_status = health_status
        self.interrupt_requests = interrupt_requests
        self.per_token_embeddings = per_token_embeddings
        #: Streams that an interrupting request ended (``interrupt_requests=True``).
        self.interrupted = 0

    def interrupted_ending(self) -> bytes:
        self.interrupted += 1
        return b"data: [DONE]\n\n"

    @property
    def base_url(self) -> str:
        return self.root_url + "/v1"

    async def _route(
        self, request: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        if self.api_key is not None and (
            request.headers.get("authorization") != f"Bearer {self.api_key}"
        ):
            return await self._send_json(writer, 401, {"error": {
                "message": "Incorrect API key provided", "type": "invalid_request_error",
                "code": "invalid_api_key"}})
        route = (request.method, request.path)
        if route == ("GET", "/health") and self.serve_health:
            return await self._send_json(writer, self.health_status, {
                "status": "ok" if self.health_status == 200 else "loading model"})
        if self.interrupt_requests and request.path.startswith("/v1/"):
            self.interrupt_streams()  # llama-cpp-python: every route that takes the model
        if route == ("GET", "/props") and self.props_n_ctx is not None:
            return await self._send_json(writer, 200, {
                "default_generation_settings": {
                    "id": 0, "n_ctx": self.props_n_ctx, "is_processing": False,
                    "params": {"n_predict": -1, "temperature": 0.8, "top_p": 0.95}},
                "total_slots": 1, "model_path": f"/models/{self.models[0]}.gguf",
                "chat_template": "{{ messages }}", "build_info": "b0-fake"})
        if route == ("GET", "/v1/models") and self.serve_models:
            return await self._send_json(writer, 200, {"object": "list", "data": [
                {"id": m, "object": "model", "owned_by": "fake", **self.model_fields}
                for m in self.models]})
        body = request.json() or {}
        model = str(body.get("model", ""))
        if route in {("POST", "/v1/chat/completions"), ("POST", "/v1/embeddings")} and (
            model not in self.models
        ):
            return await self._send_json(writer, 404, {"error": {
                "message": f"The model `{model}` does not exist.",
                "type": "invalid_request_error", "code": "model_not_found"}})
        if route == ("POST", "/v1/embeddings"):
            inputs = body.get("input")
            texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
            # Out of order on purpose: clients must sort by "index".
            data = [{"object": "embedding", "index": i, "embedding": (
                        [self.embedding(word) for word in t.split()] if self.per_token_embeddings
                        else self.embedding(t))}
                    for i, t in enumerate(texts)][::-1]
            return await self._send_json(writer, 200, {
                "object": "list", "data": data, "model": model,
                "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)}})
        if route == ("POST", "/v1/chat/completions"):
            return await self._chat(body, model, reader, writer)
        return await self._send_json(writer, 404, {"error": {
            "message": f"no route {request.path}", "type": "not_found_error"}})

    async def _chat(self, body: dict[str, Any], model: str, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> bool:
        script = self._next_script(json.dumps(body).encode())
        if script.then_drop_connection:
            self._dropping.add(writer)
        if script.status != 200:
            return await self._send_json(writer, script.status, script.error_body or {
                "error": {"message": script.error_message, "type": "server_error"}})
        created = int(time.time())
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def event(obj: dict[str, Any]) -> bytes:
            text = json.dumps(obj)
            if script.split_data_lines:
                middle = text.index(", ") + 1
                return f"data: {text[:middle]}\ndata: {text[middle:]}\n\n".encode()
            return f"data: {text}\n\n".encode()

        def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
            return {"id": "chatcmpl-fake", "object": "chat.completion.chunk",
                    "created": created, "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        pieces: list[tuple[str, bytes]] = []
        if script.sse_comments:
            pieces.append(("other", b": keep-alive\n\n"))
        pieces.append(("other", event(chunk({"role": "assistant", "content": ""}, None))))
        for index, token in enumerate(script.tokens):
            if script.error_after is not None and index == script.error_after:
                error = {"message": script.error_message, "type": "server_error", "code": 500}
                if script.error_style == "field":
                    pieces.append(("error", f"error: {json.dumps(error)}\n\n".encode()))
                else:
                    pieces.append(("error", event({"error": error})))
                break
            pieces.append(("token", event(chunk({"content": token}, None))))
            if script.sse_comments and index == 0:
                pieces.append(("other", b": still generating\n\n"))
        else:
            if script.finish_reason is None:
                if script.send_done_marker:
                    pieces.append(("other", b"data: [DONE]\n\n"))
                return await self._stream(reader, writer, "text/event-stream", pieces, script)
            pieces.append(("other", event(chunk({}, script.finish_reason))))
            if include_usage and script.send_usage:
                count = len(script.tokens)
                pieces.append(("other", event({
                    "id": "chatcmpl-fake", "object": "chat.completion.chunk",
                    "created": created, "model": model, "choices": [],
                    "usage": {"prompt_tokens": script.prompt_tokens, "completion_tokens": count,
                              "total_tokens": script.prompt_tokens + count}})))
            if script.send_done_marker:
                pieces.append(("other", b"data: [DONE]\n\n"))
        return await self._stream(reader, writer, "text/event-stream", pieces, script)


@contextlib.contextmanager
def unaccepting_port() -> Iterator[int]:
    """A loopback port whose listen backlog is full, so a new connection attempt hangs until
    the client's connect timeout (Linux drops the SYN rather than refusing it)."""
    listener = socket.socket()
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port: int = listener.getsockname()[1]
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
