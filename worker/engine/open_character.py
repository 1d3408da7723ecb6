"""``OpenCharacter``: one character as the engine holds it open — its file, its database,
memory store, backend and settings, and the state last committed — shared by the steps of
the engine (``turn_stream``, ``alternatives``, ``snapshots``) and its facade
``CharacterEngine``.

``state`` mirrors the ``engine_state`` row: whoever commits a new state sets it right after
the commit, with no ``await`` in between. ``partial`` is the text a failed generation
streamed, kept for ``keep_partial`` until the next turn (or undo, reset, load, select).
``calibrations`` mirrors the ``token_calibration`` rows the same way (``prompt_store``);
``world_info`` is the character's lorebooks, compiled once when it is opened;
``crowding_logged`` is what the last ``prompt_over_budget`` log record said was trimmed, so
the warning is logged once per character, and again only when that changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from schemas.model import Character
from worker.backends.base import Backend, GenerationOptions
from worker.backends.context_window import context_window_of
from worker.engine.database import CharacterDatabase
from worker.engine.errors import NOTHING_TO_UNDO, EngineError
from worker.engine.prompt_budget import (
    NEUTRAL,
    Calibration,
    PromptBudget,
    PromptLimits,
    budget_for,
)
from worker.engine.prompt_store import PromptStore
from worker.engine.results import PartialReply
from worker.engine.state import EngineState
from worker.engine.turn_prepare import current_mood
from worker.engine.turn_rows import TurnRow
from worker.engine.vitals import VitalsModel
from worker.engine.world_info import WorldInfo
from worker.memory.store import MemoryStore


@dataclass(slots=True)
class OpenCharacter:
    """The parts of one open character; see the module docstring for who writes what."""

    character: Character
    db: CharacterDatabase
    memory: MemoryStore
    backend: Backend
    clock: Callable[[], float]
    model: VitalsModel
    limits: PromptLimits
    options: GenerationOptions
    state: EngineState
    prompts: PromptStore
    calibrations: dict[str, Calibration]
    world_info: WorldInfo
    partial: PartialReply | None = None
    crowding_logged: tuple[str, ...] | None = None

    @property
    def id(self) -> str:
        return self.character.id

    def budget(self, options: GenerationOptions) -> PromptBudget:
        """The prompt budget of a request with ``options``, as of now: the backend's
        context window (once its server has said it), the model's calibration."""
        return budget_for(self.limits, context_window_of(self.backend, options), options,
                          self.calibrations.get(calibration_key(self.backend.name, options),
                                                NEUTRAL))

    def users_last_turn(self, user: str) -> TurnRow | None:
        """``user``'s last turn above the undo floor (the one undo may remove), if any."""
        mine = self.db.last_turn_of(user)
        return mine if mine is not None and mine.id > self.state.undo_floor else None

    def users_turn(self, user: str, what: str) -> TurnRow:
        """``users_last_turn(user)``, or ``EngineError("nothing_to_undo")`` saying what could
        not be done (``what``: "undo", "regenerate", …)."""
        mine = self.users_last_turn(user)
        if mine is None:
            raise EngineError(
                NOTHING_TO_UNDO,
                f"character {self.id!r} has no turn of user {user!r} to {what}"
                + (" since its last reset" if self.state.undo_floor else ""),
            )
        return mine

    def is_last(self, turn: TurnRow) -> bool:
        """Whether ``turn`` is the character's last turn: then the live state *is* the state
        after it, and undo or another reply may roll the shared vitals back."""
        last = self.db.last_turn()
        return last is not None and last.id == turn.id

    def info(self) -> dict[str, Any]:
        """Who the character is and where it stands: the ``character_info`` of responses."""
        mood = current_mood(self.model, self.state, self.clock())
        return {
            "character_id": self.id,
            "name": self.character.name,
            "archetype": self.character.archetype,
            "description": self.character.description,
            "mood": mood.label,
            "mood_intensity": mood.intensity,
            "turn_count": self.state.turn_count,
            "memory_count": self.memory.count(),
            "relationship_count": len(self.db.relationships()),
            "snapshot_count": self.db.snapshot_count(),
            "backend": self.backend.name,
        }


def calibration_key(backend: str, options: GenerationOptions) -> str:
    """The name a model's calibration is kept under: the model asked for (the server's
    reported name may be a file path), else the backend's name."""
    return options.model or backend
