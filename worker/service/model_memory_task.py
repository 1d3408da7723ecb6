"""The background step after a turn: the model writes memories about the user
(``CharacterEngine.write_model_memories``), in a task this object owns.

Promises:

* **After the acknowledgement.** ``after_turn`` is called once the turn's ``chat_response``
  was sent; the step never delays a reply.
* **At most one, owned.** A new step cancels the one before; ``cancel()`` (before any
  request that changes turns: chat, regenerate, undo, reply choice, load, reset) and
  ``aclose()`` (shutdown) cancel it and wait until it has ended, so its request to the
  server is closed before the next reply's goes out and nothing is written for an undone
  turn.
* **Never fails a turn.** A backend failure, a timeout (``timeout_s``) or any other error
  is logged as ``memory_extraction_failed`` (character, turn, error, what to do) and
  nothing is written; the turn stays as committed.
"""

from __future__ import annotations

import asyncio
from typing import Final

import structlog

from runtime.settings import ModelMemoryMode
from worker.backends.base import BackendError
from worker.engine.character_engine import CharacterEngine

#: Seconds one step (extraction and reflection, with their waits for a server free of
#: replies: ``background_requests``) may take before it is given up.
MODEL_MEMORY_TIMEOUT_S: Final = 300.0

log = structlog.get_logger()


class ModelMemoryTask:
    """Schedules, owns and cancels the model's memory writing for one character."""

    def __init__(self, engine: CharacterEngine, *, mode: ModelMemoryMode,
                 reflect_every: int, timeout_s: float = MODEL_MEMORY_TIMEOUT_S) -> None:
        self._engine = engine
        self._mode = mode
        self._reflect_every = reflect_every
        self._timeout_s = timeout_s
        self._task: asyncio.Task[None] | None = None

    def after_turn(self, turn_id: int, user: str) -> None:
        """Start the step for ``user``'s turn ``turn_id``, just acknowledged, if the settings
        want one (``CharacterEngine.model_memory_plan``)."""
        plan = self._engine.model_memory_plan(user, mode=self._mode,
                                              reflect_every=self._reflect_every)
        if not plan.extract:
            return
        if self._task is not None:
            self._task.cancel()  # a turn cancels the step before; this is a safety net
        reflect_over = self._reflect_every if plan.reflect else 0
        self._task = asyncio.get_running_loop().create_task(
            self._run(turn_id, user, reflect_over), name=f"model-memory-{turn_id}")

    async def wait(self) -> None:
        """Return when no step is running (the current one ended, however)."""
        if self._task is not None:
            await asyncio.wait([self._task])

    async def cancel(self) -> None:
        """Cancel the running step, if any, and wait until it has ended."""
        task, self._task = self._task, None
        if task is None or task.done():
            return
        task.cancel()
        await asyncio.wait([task])

    async def aclose(self) -> None:
        """Shutdown: as ``cancel``."""
        await self.cancel()

    async def _run(self, turn_id: int, user: str, reflect_over: int) -> None:
        character = self._engine.character.id
        try:
            async with asyncio.timeout(self._timeout_s):
                done = await self._engine.write_model_memories(turn_id, user,
                                                               reflect_over=reflect_over)
        except asyncio.CancelledError:
            log.info("memory_extraction_cancelled", character=character, turn_id=turn_id)
            raise
        except Exception as problem:  # whatever it was, the turn must not fail
            code = problem.code if isinstance(problem, BackendError) else (
                "timeout" if isinstance(problem, TimeoutError) else "internal")
            log.warning(
                "memory_extraction_failed", character=character, turn_id=turn_id, user=user,
                error_code=code, error=f"{type(problem).__name__}: {problem}",
                hint="the turn is committed; only the model's notes about it are missing. "
                     "Check the LLM server (or set GREENROOM_MODEL_MEMORY=off)")
            return
        log.info("model_memories_written" if done.written else "model_memories_dropped",
                 character=character, turn_id=turn_id, facts=len(done.facts),
                 updated=list(done.updated), deleted=list(done.deleted),
                 summary=done.summary is not None)
