"""An in-process stand-in for the worker pool, for gateway tests that need exact control.

It implements ``WorkerPoolApi`` with one asyncio "worker" per character that answers requests
the way the real worker protocol says (final ``WorkerReply`` per request, ``chat_delta``
frames for streamed chats, ``vitals_event`` and ``turn_event`` after a turn), and lets a test
hold a chat mid-stream (``hold_chats``), crash a character, or make it silent. The
integration tests in ``test_gateway_with_real_workers.py`` run the same scenarios through the
real pool and real worker processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from protocol.chat import ChatDelta, ChatRequest, ChatResponse
from protocol.errors import ErrorResponse
from protocol.events import TurnEvent, VitalsEvent
from protocol.pipe import WorkerCancel, WorkerEvent, WorkerReply, WorkerRequest
from protocol.queries import MemorySearchResponse, StatusResponse
from protocol.session import InitResponse, PingResponse
from protocol.states import WorkerState
from protocol.unions import ServerMessage
from supervisor.pool.api import (
    CharacterNotFound,
    CharacterReload,
    CharacterRestarting,
    CodeStatus,
    PoolListener,
    ReloadOutcome,
    WorkerSnapshot,
)


@dataclass
class _Character:
    state: WorkerState = "ready"
    generation: int = 1
    restarts: int = 0
    turns: int = 0
    dopamine: float = 50.0
    silent: bool = False
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    cancelled: set[int] = field(default_factory=set)


class InProcessPool:
    """``WorkerPoolApi`` over asyncio tasks; ``known`` lists the character ids that exist."""

    def __init__(self, known: set[str], *, deltas_per_chat: int = 3) -> None:
        self.known = known
        self.deltas_per_chat = deltas_per_chat
        self.listener: PoolListener | None = None
        self.characters: dict[str, _Character] = {}
        self.sent: list[tuple[str, Any]] = []
        self.chat_gate = asyncio.Event()
        self.chat_gate.set()
        self.chat_started = asyncio.Event()
        self.debugger_gate = asyncio.Event()
        self.debugger_gate.set()
        self.debugger_asked = asyncio.Event()
        self.ensure_calls = 0
        self.broken: set[str] = set()
        """Characters whose ``ensure`` fails with an unexpected exception (a pool bug)."""

    # Test controls

    def hold_chats(self) -> None:
        """Chats stop after their first delta until ``release_chats``."""
        self.chat_gate.clear()
        self.chat_started.clear()

    def release_chats(self) -> None:
        self.chat_gate.set()

    def crash(self, character_id: str, *, final_state: WorkerState = "ready") -> None:
        """The worker dies: its tasks vanish, RESTARTING is reported, then ``final_state``."""
        character = self.characters[character_id]
        for task in character.tasks:
            task.cancel()
        character.tasks.clear()
        character.restarts += 1
        self._set_state(character_id, "restarting", "exit code -9 (SIGKILL)")
        if final_state != "restarting":
            character.generation += 1
            self._set_state(character_id, final_state, None)

    def make_silent(self, character_id: str) -> None:
        self.characters[character_id].silent = True

    # WorkerPoolApi

    async def ensure(self, character_id: str) -> None:
        self.ensure_calls += 1
        if character_id in self.broken:
            raise RuntimeError(f"bug in the pool while starting {character_id!r}")
        if character_id not in self.known:
            raise CharacterNotFound(character_id, f"no character file for {character_id!r}")
        if character_id not in self.characters:
            self.characters[character_id] = _Character()
            self._set_state(character_id, "ready", None)

    def state(self, character_id: str) -> WorkerState | None:
        character = self.characters.get(character_id)
        return character.state if character else None

    def send(self, character_id: str, frame: Any) -> None:
        character = self.characters[character_id]
        if character.state == "restarting":
            raise CharacterRestarting(character_id, f"{character_id!r} is restarting")
        self.sent.append((character_id, frame))
        if isinstance(frame, WorkerCancel):
            character.cancelled.add(frame.request_id)
            return
        assert isinstance(frame, WorkerRequest)
        if character.silent:
            return
        task = asyncio.get_running_loop().create_task(self._work(character_id, frame))
        character.tasks.add(task)
        task.add_done_callback(character.tasks.discard)

    def snapshots(self) -> list[WorkerSnapshot]:
        return [self._snapshot(cid) for cid in sorted(self.characters)]

    async def restart(self, character_id: str) -> str | None:
        await self.ensure(character_id)
        self.crash(character_id)
        return None

    async def reload(self, character_ids: Sequence[str]) -> ReloadOutcome:
        """Every character named (or every one) counts as up to date."""
        return ReloadOutcome(code_generation=1, characters=tuple(
            CharacterReload(cid, "up_to_date", generation=self.characters[cid].generation)
            for cid in (character_ids or sorted(self.characters))))

    def code(self) -> CodeStatus:
        return CodeStatus(generation=1, loaded_at=None, reload_error=None)

    async def start_debugger(self, character_id: str, port: int | None, wait: bool) -> int:
        """Answers once ``debugger_gate`` is set (clear it to keep a debug request waiting,
        as for a worker that is still restarting); ``debugger_asked`` tells it was called."""
        self.debugger_asked.set()
        await self.debugger_gate.wait()
        return port or 5678

    async def close(self) -> None:
        tasks = [t for c in self.characters.values() for t in c.tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # The "worker"

    async def _work(self, character_id: str, request: WorkerRequest) -> None:
        message = request.message
        message_type = message.__struct_config__.tag
        answer: ServerMessage
        if message_type == "chat_request":
            await self._chat(character_id, request)
            return
        if message_type == "status_request":
            answer = StatusResponse(
                character_summary={"turns": self.characters[character_id].turns},
                vitals={"dopamine": self.characters[character_id].dopamine},
            )
        elif message_type == "init_request":
            answer = InitResponse(character_name=character_id.title(), character_info={})
        elif message_type == "memory_search_request":
            answer = MemorySearchResponse(memories=[], count=0)
        else:
            answer = PingResponse()
        self._reply(character_id, request.request_id, answer, final=True)

    async def _chat(self, character_id: str, request: WorkerRequest) -> None:
        character = self.characters[character_id]
        words = [f"w{i} " for i in range(self.deltas_per_chat)]
        for index, word in enumerate(words):
            if request.request_id in character.cancelled:
                self._reply(
                    character_id,
                    request.request_id,
                    ErrorResponse(error="cancelled", error_code="cancelled"),
                    final=True,
                )
                return
            self._reply(
                character_id, request.request_id, ChatDelta(delta=word, index=index), final=False
            )
            if index == 0:
                self.chat_started.set()
                await self.chat_gate.wait()
            await asyncio.sleep(0)
        character.turns += 1
        character.dopamine += 1
        assert isinstance(request.message, ChatRequest)
        text = "".join(words)
        vitals = {"dopamine": character.dopamine}
        self._event(
            character_id, VitalsEvent(character_id=character_id, vitals=vitals, cause="turn")
        )
        self._event(
            character_id,
            TurnEvent(
                character_id=character_id,
                user=request.user,
                user_message=request.message.user_message,
                response_text=text,
                turn_index=character.turns,
                session_id=request.session_id,
            ),
        )
        self._reply(character_id, request.request_id, ChatResponse(response_text=text), final=True)

    def _reply(
        self, character_id: str, request_id: int, message: ServerMessage, *, final: bool
    ) -> None:
        assert self.listener is not None
        self.listener.on_worker_frame(
            character_id, WorkerReply(request_id=request_id, message=message, final=final)
        )

    def _event(self, character_id: str, event: VitalsEvent | TurnEvent) -> None:
        assert self.listener is not None
        self.listener.on_worker_frame(character_id, WorkerEvent(message=event))

    def _set_state(self, character_id: str, state: WorkerState, crash: str | None) -> None:
        self.characters[character_id].state = state
        if self.listener is not None:
            snapshot = self._snapshot(character_id, crash)
            self.listener.on_worker_state(character_id, state, snapshot)

    def _snapshot(self, character_id: str, crash: str | None = None) -> WorkerSnapshot:
        character = self.characters[character_id]
        return WorkerSnapshot(
            character_id=character_id,
            state=character.state,
            pid=4242,
            generation=character.generation,
            uptime_s=1.0,
            restarts=character.restarts,
            rss_bytes=None,
            uss_bytes=None,
            debug_port=None,
            last_crash=crash,
            reason="crash" if crash else None,
            detail=crash if character.state in ("restarting", "failed", "stopped") else None,
        )
