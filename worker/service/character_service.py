"""``CharacterService``: one character's engine behind the pipe protocol — the requests in
flight, each in a task it owns, and exactly one final reply to each.

Every ``WorkerRequest`` runs in its own task, owned by ``CharacterService`` (which awaits or
cancels all of them before closing), so ``status``, ``ping`` and memory search are answered
while a chat streams. Turns (``Handling.TURN``: chat, regenerate, undo, memory edits …) run
one at a time, in arrival order: the gateway already sends one character at most one, but
under ``--placement ray`` several gateways share the actor, and a turn that arrives while
another runs waits here (a streamed one is told ``generation_status: queued``; keepalives
hold off its gateway's deadline; cancelling it while it waits answers ``cancelled``).

Each request gets exactly one final reply: its response (``request_answers``), or an
``error_response`` with a stable code (``failures``). A response that cannot be sent —
larger than the pipe's frame limit, or not encodable — is answered at once with
``answer_too_large`` or ``internal``, never left to the gateway's timeout. A streamed chat
sends ``chat_delta`` replies first (``turn_replies``), a streamed export ``export_chunk``
replies (``exports``, paced by ``ExportCredit``). After a committed turn the worker emits a
``turn_event`` and a ``vitals_event`` for the gateway to fan out (``events``), and — after
its ``chat_response`` — lets the model write memories about it in the background
(``model_memory_task``; cancelled before any request that changes turns, and at shutdown).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import structlog

from protocol.chat import (
    ChatRequest,
    ChatResponse,
    GreetingRequest,
    RegenerateRequest,
    SelectAlternativeRequest,
    UndoRequest,
)
from protocol.declaration import Handling
from protocol.errors import ProtocolError
from protocol.frame_codec import MAX_FRAME_BYTES
from protocol.pipe import FromWorker, WorkerReply, WorkerRequest
from protocol.snapshots import LoadRequest, ResetRequest
from protocol.unions import REQUESTS, ServerMessage, message_type_of
from runtime.settings import ModelMemoryMode, Settings
from schemas.loader import load_character
from worker.backends.base import Backend, BackendError, Embedder
from worker.backends.factory import make_backend, make_embedder, server_claims_dir
from worker.backends.options import default_options
from worker.engine.character_engine import CharacterEngine
from worker.engine.prompt_budget import PromptLimits
from worker.service.exports import Exports
from worker.service.failures import Failure, failure_of, undeliverable
from worker.service.model_memory_task import ModelMemoryTask
from worker.service.request_answers import RequestAnswers
from worker.service.turn_progress import MAX_KEEPALIVE_S, TurnProgress, keepalive_interval

#: How the service hands a frame to the worker's pipe (or local mode's in-process channel).
SendFrame = Callable[[FromWorker], None]

#: Requests that change a character's turns: the model's memory writing for the last turn is
#: cancelled (and awaited) before they run, so it never streams beside a reply and never
#: writes for a turn they take back.
_CHANGE_TURNS = (ChatRequest, RegenerateRequest, UndoRequest, SelectAlternativeRequest,
                 LoadRequest, ResetRequest, GreetingRequest)

log = structlog.get_logger()


class CharacterService:
    """One character's engine behind the pipe protocol. Lives on the worker's event loop.

    ``max_frame_bytes`` is the pipe's frame limit that ``send`` enforces: an unstreamed
    export larger than that is refused before it is built."""

    def __init__(
        self,
        engine: CharacterEngine,
        backend: Backend,
        embedder: Embedder | None,
        send: SendFrame,
        *,
        keepalive_s: float = MAX_KEEPALIVE_S,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        model_memory: ModelMemoryMode = "auto",
        reflect_every: int = 10,
    ) -> None:
        """``keepalive_s``: seconds between two ``WorkerProgress`` frames of a running turn;
        well below the gateway's request timeout (``open`` derives it from the settings).
        ``model_memory`` and ``reflect_every``: ``GREENROOM_MODEL_MEMORY`` and
        ``GREENROOM_MODEL_MEMORY_REFLECT_EVERY`` (``model_memory_task``)."""
        self._engine = engine
        self._backend = backend
        self._embedder = embedder
        self._send = send
        self._exports = Exports(engine, send, max_frame_bytes=max_frame_bytes)
        self._answers = RequestAnswers(engine, send, self._exports, keepalive_s=keepalive_s)
        self._keepalive_s = keepalive_s
        self._turn_line = asyncio.Lock()  # FIFO, and a cancelled waiter leaves it
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._accepting = True
        self._backend_check: asyncio.Task[None] | None = None
        self.model_memory = ModelMemoryTask(engine, mode=model_memory,
                                            reflect_every=reflect_every)

    @property
    def character_id(self) -> str:
        return self._engine.character.id

    @classmethod
    async def open(
        cls, character_id: str, settings: Settings, send: SendFrame
    ) -> CharacterService:
        """Load the character file, open its engine (database, backend) and start probing
        the LLM server in the background (see ``_check_backend``).

        Raises whatever prevents the character from running (a missing or broken character
        file, an unusable database): the worker reports it as ``Fatal``. An unreachable LLM
        server or missing model is not among them.
        """
        loaded = load_character(character_id, settings.characters_dir)
        character = loaded.character
        backend = make_backend(settings.engine, character.llm,
                               claims_dir=server_claims_dir(settings.data_dir))
        embedder = make_embedder(settings.engine, backend)
        try:
            engine = CharacterEngine.open(
                character, data_dir=settings.data_dir, backend=backend,
                half_life_s=settings.engine.decay_half_life_s,
                prompt_limits=PromptLimits.of(settings.engine),
                max_message_chars=settings.engine.max_message_chars,
                options=default_options(settings.engine, character.llm), embedder=embedder,
                shared_lorebooks=loaded.shared_lorebooks,
            )
        except BaseException:
            await _aclose(backend, embedder)
            raise
        service = cls(engine, backend, embedder, send,
                      keepalive_s=keepalive_interval(settings.gateway.request_timeout_s),
                      model_memory=settings.engine.model_memory,
                      reflect_every=settings.engine.model_memory_reflect_every)
        service._backend_check = asyncio.get_running_loop().create_task(
            service._check_backend(), name="llm-health-check")
        return service

    async def _check_backend(self) -> None:
        """Probe the LLM server once (Ollama ``GET /api/tags``, OpenAI ``GET /models``).

        Runs beside the worker's start rather than before ``Ready``: an unreachable server
        may take the whole connect timeout to fail, and a worker must not be slow to start
        (or fail) because of it. A missing server or model is logged as ``llm_check_failed``
        and makes chats answer ``llm_unavailable`` at once until the re-check backoff has
        passed (``worker/backends/availability.py``); status, memory and snapshots are
        served regardless.
        """
        try:
            await self._backend.check()
        except BackendError as exc:
            log.warning("llm_check_failed", code=exc.code, error=str(exc))
            return
        log.info("llm_check_passed")

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def submit(self, request: WorkerRequest) -> None:
        """Start handling ``request`` in its own task; the task sends the replies."""
        if not self._accepting:
            self._send(Failure(
                "shutting_down", f"character {self.character_id!r} is shutting down; "
                "retry later").reply_to(request))
            return
        task = asyncio.get_running_loop().create_task(self._handle(request))
        self._tasks[request.request_id] = task
        task.add_done_callback(lambda done: self._finished(request, done))

    def _finished(self, request: WorkerRequest, task: asyncio.Task[None]) -> None:
        self._tasks.pop(request.request_id, None)
        problem = None if task.cancelled() else task.exception()
        if problem is not None:
            # ``_handle`` answers every failure of the request itself; only the channel
            # failing while it sends gets here. Nobody can be told: the record says so.
            log.error("reply_not_sent", request=message_type_of(type(request.message)),
                      message_id=request.message.message_id,
                      error=f"{type(problem).__name__}: {problem}")

    def cancel(self, request_id: int) -> None:
        """Cancel one request; its task answers ``cancelled`` and commits nothing.
        A request already finished is left alone (its reply was sent)."""
        task = self._tasks.get(request_id)
        if task is not None:
            task.cancel()

    def grant_export_credit(self, request_id: int) -> None:
        """The gateway wrote one chunk of streamed export ``request_id`` to its client: one
        more may be sent. A credit for an export already finished is ignored."""
        self._exports.grant_credit(request_id)

    async def drain(self, grace_s: float) -> None:
        """Refuse new requests; let in-flight ones finish for ``grace_s`` seconds, then
        cancel the rest and wait until every one has sent its final reply."""
        self._accepting = False
        await self.model_memory.cancel()
        pending = list(self._tasks.values())
        if not pending:
            return
        _done, still_running = await asyncio.wait(pending, timeout=grace_s)
        for task in still_running:
            task.cancel()
        if still_running:
            log.warning("requests_cancelled_at_shutdown", count=len(still_running))
            await asyncio.wait(still_running)

    async def close(self) -> None:
        """Drain nothing more; close the engine (everything acknowledged is committed) and
        the backend."""
        for task in list(self._tasks.values()):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()))
        await self.model_memory.aclose()
        if self._backend_check is not None:
            self._backend_check.cancel()
            await asyncio.wait([self._backend_check])
        self._engine.close()
        await _aclose(self._backend, self._embedder)

    async def _handle(self, request: WorkerRequest) -> None:
        asked = message_type_of(type(request.message))
        with structlog.contextvars.bound_contextvars(
            session=request.session_id, message_id=request.message.message_id
        ):
            try:
                async with self._turn_of(request):
                    if isinstance(request.message, _CHANGE_TURNS):
                        await self.model_memory.cancel()
                    response = await self._answers.answer(request)
            except (asyncio.CancelledError, Exception) as problem:
                failure = failure_of(problem, character_id=self.character_id, asked=asked)
                self._send(failure.reply_to(request))
                return
            self._send_response(request, response)
            if isinstance(response, ChatResponse) and response.response_metadata is not None:
                meta = response.response_metadata
                self.model_memory.after_turn(meta.turn_id, meta.user)

    @asynccontextmanager
    async def _turn_of(self, request: WorkerRequest) -> AsyncIterator[None]:
        """The turn line for a ``Handling.TURN`` request (nothing for the others): while
        another turn runs, ``request`` waits its turn, told so and kept alive."""
        if REQUESTS[message_type_of(type(request.message))].handling is not Handling.TURN:
            yield
            return
        if self._turn_line.locked():
            progress = TurnProgress(self._send, request.request_id, request.message.message_id,
                                    stream=getattr(request.message, "stream", False) is True,
                                    interval_s=self._keepalive_s)
            progress.enter("queued")
            log.info("turn_waiting", reason="another turn of this character is running")
            try:
                await self._turn_line.acquire()
            finally:
                progress.stop()
        else:
            await self._turn_line.acquire()
        try:
            yield
        finally:
            self._turn_line.release()

    def _send_response(self, request: WorkerRequest, response: ServerMessage) -> None:
        """Send the final reply; if it cannot go, say so to the client at once instead."""
        try:
            self._send(WorkerReply(request_id=request.request_id, message=response))
        except ProtocolError as problem:
            failure = undeliverable(problem, character_id=self.character_id,
                                    answer=message_type_of(type(response)),
                                    asked=message_type_of(type(request.message)))
            self._send(failure.reply_to(request))


async def _aclose(backend: Backend, embedder: Embedder | None) -> None:
    for closable in (backend, embedder):
        aclose = getattr(closable, "aclose", None)
        if aclose is not None:
            try:
                await aclose()
            except Exception:
                log.exception("close_failed", what=type(closable).__name__)
