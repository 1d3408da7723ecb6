"""``LocalCharacter``: the character engine running in this process, behind ``Character``.

For local mode (``greenroom chat --local``, or the fallback when no server answers). The
same SQLite database the server would use is opened directly under the data directory, so
running it while a server hosts the same character in the same data directory is not
supported (two engines would diverge). Engine and backend failures become the same
``GreenroomError`` codes a server would answer. After each change it makes, the character
publishes a ``vitals_event`` on ``events()``, like a server does for subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from typing import Final, Literal

import msgspec

from client.errors import GreenroomError, error_for
from client.event_hub import EventHub
from client.export_assembly import decode_export
from client.interface import (
    CharacterEntry,
    CharacterEvent,
    CharacterStatus,
    ChatReply,
    JsonObject,
)
from client.reply_stream import ReplyStream
from protocol.errors import ErrorCode
from protocol.events import VitalsEvent
from runtime.settings import Settings
from schemas.loader import list_characters, load_character
from schemas.problems import CharacterError, CharacterFileError
from schemas.problems import CharacterNotFound as CharacterFileMissing
from worker.backends.base import Backend, BackendError, Embedder, TextDelta
from worker.backends.factory import make_backend, make_embedder
from worker.backends.options import default_options
from worker.engine.character_engine import CharacterEngine
from worker.engine.errors import EngineError
from worker.engine.results import GenerationStarted, TurnResult, TurnStreamEvent

DEFAULT_USER: Final = "user"

TurnSource = Callable[[], AsyncIterator[TurnStreamEvent]]


class _Cancelled:
    """Marker the pump task leaves when its turn was cancelled."""


class _Finished:
    """Marker the pump task leaves after the last item."""


_CANCELLED: Final = _Cancelled()
_FINISHED: Final = _Finished()
PumpItem = TextDelta | TurnResult | Exception | _Cancelled | _Finished


class LocalCharacter:
    """A character hosted in-process; satisfies ``client.interface.Character``.

    Build with ``LocalCharacter(settings, user=...)`` then ``await attach(id)``; always
    ``await close()``. Not thread-safe; one asyncio loop.
    """

    def __init__(self, settings: Settings, *, user: str | None = None) -> None:
        self._settings = settings
        self._user = user or DEFAULT_USER
        self._engine: CharacterEngine | None = None
        self._backend: Backend | None = None
        self._embedder: Embedder | None = None
        self._hub = EventHub()
        self._pump: asyncio.Task[None] | None = None

    @property
    def character_id(self) -> str | None:
        return None if self._engine is None else self._engine.character.id

    @property
    def mode(self) -> Literal["remote", "local"]:
        return "local"

    @property
    def user(self) -> str:
        return self._user

    async def attach(self, character_id: str) -> JsonObject:
        """Open ``character_id``'s engine (closing the current one); never resets it."""
        if self._pump is not None:
            raise error_for(ErrorCode.BUSY, "Cannot switch characters while a reply streams.")
        with _engine_errors():
            try:
                loaded = load_character(character_id, self._settings.characters_dir)
            except CharacterFileMissing as exc:
                raise error_for(ErrorCode.CHARACTER_NOT_FOUND, str(exc)) from None
            except CharacterFileError as exc:
                raise error_for(
                    ErrorCode.CHARACTER_UNAVAILABLE,
                    f"Character {character_id!r} cannot be loaded: {exc}",
                ) from None
            except CharacterError as exc:
                raise error_for(ErrorCode.CHARACTER_NOT_FOUND, str(exc)) from None
            character = loaded.character
            backend = make_backend(self._settings, character.llm)
            embedder = make_embedder(self._settings, backend)
            try:
                engine = CharacterEngine.open(
                    character,
                    data_dir=self._settings.data_dir,
                    backend=backend,
                    half_life_s=self._settings.engine.decay_half_life_s,
                    token_budget=self._settings.engine.prompt_token_budget,
                    max_message_chars=self._settings.engine.max_message_chars,
                    options=default_options(self._settings, character.llm),
                    embedder=embedder,
                )
            except BaseException:
                await _close_quietly(backend, embedder)
                raise
        await self._close_engine()
        self._engine, self._backend, self._embedder = engine, backend, embedder
        return engine.character_info()

    async def list_characters(self) -> list[CharacterEntry]:
        current = self.character_id
        return [
            CharacterEntry(
                character_id=summary.id,
                name=summary.name or summary.id,
                archetype=summary.archetype,
                description=summary.description,
                state="ready" if summary.id == current else ("stopped" if summary.ok else "failed"),
            )
            for summary in list_characters(self._settings.characters_dir)
        ]

    async def chat(self, text: str) -> ChatReply:
        return await self.chat_stream(text).collect()

    def chat_stream(self, text: str, *, keep_partial: bool = False) -> ReplyStream:
        return ReplyStream(lambda: self._stream(lambda: self._live().chat(
            text, user=self._user, keep_partial=keep_partial)))

    def regenerate_stream(self, *, keep_partial: bool = False) -> ReplyStream:
        return ReplyStream(lambda: self._stream(lambda: self._live().regenerate(
            user=self._user, keep_partial=keep_partial)))

    async def cancel(self) -> bool:
        pump = self._pump
        if pump is None or pump.done():
            return False
        pump.cancel()
        return True

    async def undo(self) -> JsonObject:
        engine = self._live()
        with _engine_errors():
            engine.undo(user=self._user)
        self._publish_vitals("undo")
        return engine.character_info()

    async def alternatives(self) -> list[JsonObject]:
        with _engine_errors():
            return self._live().alternatives(user=self._user)

    async def select_alternative(self, index: int) -> JsonObject:
        with _engine_errors():
            info = self._live().select_alternative(index, user=self._user)
        self._publish_vitals("select_alternative")
        return info

    async def status(
        self, *, include_history: bool = False, include_performance: bool = False
    ) -> CharacterStatus:
        with _engine_errors():
            report = self._live().status(
                include_vitals=True,
                include_history=include_history,
                include_performance=include_performance,
                user=self._user,
            )
        return CharacterStatus(
            summary=report.character_summary,
            vitals=report.vitals or {},
            history=report.conversation_history,
            performance=report.performance_stats,
        )

    async def search_memory(self, query: str, limit: int = 5) -> list[JsonObject]:
        with _engine_errors():
            hits = await self._live().search_memory(query, limit)
        return [msgspec.to_builtins(hit) for hit in hits]

    async def save(self, name: str | None = None) -> str:
        with _engine_errors():
            return self._live().save(name)

    async def load(self, name: str) -> JsonObject:
        with _engine_errors():
            info = self._live().load(name)
        self._publish_vitals("load")
        return info

    async def reset(self, *, preserve_memories: bool = True) -> JsonObject:
        with _engine_errors():
            info = self._live().reset(preserve_memories=preserve_memories)
        self._publish_vitals("reset")
        return info

    async def snapshots(self) -> list[JsonObject]:
        with _engine_errors():
            return self._live().list_snapshots()

    async def delete_snapshot(self, name: str) -> None:
        with _engine_errors():
            self._live().delete_snapshot(name)

    async def export(self) -> JsonObject:
        return await decode_export(self.export_text())

    async def export_text(self) -> AsyncGenerator[str, None]:
        """The engine's export text, piece by piece (about a record each)."""
        with _engine_errors(), contextlib.closing(self._live().export_text()) as pieces:
            for piece in pieces:
                yield piece

    def events(self) -> AsyncIterator[CharacterEvent]:
        return self._hub.subscribe()

    async def close(self) -> None:
        """Cancel a reply in flight, close the engine and backend; idempotent."""
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
            await asyncio.wait([pump])
        await self._close_engine()
        self._hub.close()

    # -- internals ------------------------------------------------------------------------

    def _live(self) -> CharacterEngine:
        if self._engine is None:
            raise error_for(
                ErrorCode.NOT_INITIALIZED, "No character is attached; pick one with /switch ID."
            )
        return self._engine

    async def _close_engine(self) -> None:
        engine, self._engine = self._engine, None
        backend, self._backend = self._backend, None
        embedder, self._embedder = self._embedder, None
        if engine is not None:
            engine.close()
        await _close_quietly(backend, embedder)

    async def _stream(self, start: TurnSource) -> AsyncGenerator[str | ChatReply, None]:
        """Run the engine's turn in an owned pump task so ``cancel()`` can stop it at any
        await without touching the task that reads the stream."""
        if self._pump is not None:
            raise error_for(ErrorCode.BUSY, "A reply is already being generated; wait or cancel.")
        queue: asyncio.Queue[PumpItem] = asyncio.Queue()
        pump = asyncio.create_task(self._run_turn(start, queue), name="greenroom-local-turn")
        # The callback also covers a pump cancelled before its first step, which never
        # enters _run_turn's body and so could not report anything itself.
        pump.add_done_callback(lambda task: _report_end(task, queue))
        self._pump = pump
        try:
            while True:
                item = await queue.get()
                if isinstance(item, TextDelta):
                    yield item.text
                elif isinstance(item, TurnResult):
                    self._publish_vitals("turn")
                    yield _reply_from(item)
                elif isinstance(item, _Cancelled):
                    raise error_for(
                        ErrorCode.CANCELLED, "The reply was cancelled; nothing was committed."
                    )
                elif isinstance(item, Exception):
                    raise item
                else:
                    return
        finally:
            if self._pump is pump:
                self._pump = None
            if not pump.done():
                pump.cancel()
            await asyncio.wait([pump])

    @staticmethod
    async def _run_turn(start: TurnSource, queue: asyncio.Queue[PumpItem]) -> None:
        try:
            with _engine_errors():
                async for item in start():
                    if not isinstance(item, GenerationStarted):  # no status line in-process
                        queue.put_nowait(item)
        except GreenroomError as exc:
            queue.put_nowait(exc)
        queue.put_nowait(_FINISHED)

    def _publish_vitals(self, cause: str) -> None:
        engine = self._engine
        if engine is None:
            return
        report = engine.status(include_vitals=True, user=self._user)
        vitals = report.vitals or {}
        mood = vitals.get("mood")
        self._hub.publish(
            VitalsEvent(
                character_id=engine.character.id,
                vitals=vitals,
                mood=mood if isinstance(mood, str) else None,
                cause=cause,
            )
        )


def _report_end(task: asyncio.Task[None], queue: asyncio.Queue[PumpItem]) -> None:
    """Tell the reader how the pump ended when it could not say so itself."""
    if task.cancelled():
        queue.put_nowait(_CANCELLED)
        return
    failure = task.exception()
    if failure is not None:
        queue.put_nowait(failure if isinstance(failure, Exception) else _CANCELLED)


@contextlib.contextmanager
def _engine_errors() -> Iterator[None]:
    """Engine and backend exceptions as the ``GreenroomError`` a server would answer."""
    try:
        yield
    except EngineError as exc:
        raise error_for(exc.code, exc.message, exc.details) from None
    except BackendError as exc:
        raise error_for(exc.code, str(exc), exc.details) from None


async def _close_quietly(backend: Backend | None, embedder: Embedder | None) -> None:
    if backend is not None:
        await backend.aclose()
    aclose = getattr(embedder, "aclose", None)
    if aclose is not None:
        await aclose()


def _reply_from(result: TurnResult) -> ChatReply:
    return ChatReply(
        text=result.response_text,
        vitals=dict(result.vitals),
        mood=result.mood,
        metadata={
            "turn_id": result.turn_id,
            "turn_index": result.turn_index,
            "intent": result.intent,
            "generation": result.generation,
            "timings_ms": result.timings_ms,
            "regenerated": result.regenerated,
        },
    )
