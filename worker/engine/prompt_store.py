"""What the engine keeps of the prompts it sent: the last one per user, exactly as the backend
got it, and per model how the server's token counts compared with the estimates.

Both live in the character's own database (two tables this module creates, beside the
engine's and the memory store's), written in the transaction that commits the turn: a
prompt is kept exactly when its turn is, and both survive a worker restart — a crash, a
``greenroom restart``, a code reload — which is when a developer asks "what did it send?".
One row per user (the newest replaces the one before), so the store's size does not grow
with the conversation.

A kept prompt names its turn (id and ``created_at``): it answers only while that turn is
still the user's last with that very reply. After an undo, a ``reset`` or ``load``, an older
reply chosen with ``select_alternative`` or a turn that kept a cut-off reply (no prompt
sent), the user's last turn is another one and no prompt is kept for it.

The tables are not in snapshots or exports (they describe requests sent, not the
character), and an older greenroom opening the database ignores them.
"""

from __future__ import annotations

import sqlite3
from typing import Final

import msgspec

from worker.backends.base import GenerationDone, GenerationOptions
from worker.engine.canonical import canonical_json
from worker.engine.prompt import BuiltPrompt
from worker.engine.prompt_budget import Calibration, PromptBudget
from worker.engine.turn_rows import TurnRow

_SCHEMA: Final = (
    """
    CREATE TABLE IF NOT EXISTS sent_prompts (
        user TEXT PRIMARY KEY,
        turn_id INTEGER NOT NULL,
        turn_created_at REAL NOT NULL,
        prompt TEXT NOT NULL
    )
    """,
    "CREATE TABLE IF NOT EXISTS token_calibration (model TEXT PRIMARY KEY, data TEXT NOT NULL)",
)


class SentPrompt(msgspec.Struct, frozen=True):
    """One generation's request as the backend got it: the messages (in ``built``, with how
    they were fitted), the backend, the options (model, sampling, limits), the budget, and
    what the server reported back (``generation``); for the turn ``turn_id`` (created at
    ``turn_created_at``) whose reply it produced (``reply``)."""

    user: str
    turn_id: int
    turn_created_at: float
    reply: str
    backend: str
    options: GenerationOptions
    built: BuiltPrompt
    budget: PromptBudget
    generation: GenerationDone


class PromptStore:
    """The two tables on one character's connection. ``keep`` and ``put_calibration`` must
    run inside the engine's ``transaction()``; reads may run anywhere."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        for statement in _SCHEMA:
            conn.execute(statement)
        self._prompt_decoder = msgspec.json.Decoder(SentPrompt)
        self._calibration_decoder = msgspec.json.Decoder(Calibration)

    def keep(self, prompt: SentPrompt) -> None:
        """Keep ``prompt`` as its user's last, replacing the one before."""
        self._conn.execute(
            "INSERT INTO sent_prompts (user, turn_id, turn_created_at, prompt) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (user) DO UPDATE SET turn_id = excluded.turn_id,"
            " turn_created_at = excluded.turn_created_at, prompt = excluded.prompt",
            (prompt.user, prompt.turn_id, prompt.turn_created_at, canonical_json(prompt)))

    def forget(self, user: str) -> None:
        """``user``'s last turn was made without a prompt (a kept cut-off reply)."""
        self._conn.execute("DELETE FROM sent_prompts WHERE user = ?", (user,))

    def last_of(self, turn: TurnRow) -> SentPrompt | None:
        """The prompt that produced ``turn`` (its user's last) with its current reply, if
        that is the one kept."""
        row = self._conn.execute(
            "SELECT prompt FROM sent_prompts WHERE user = ? AND turn_id = ?"
            " AND turn_created_at = ?", (turn.user, turn.id, turn.created_at)).fetchone()
        if row is None:
            return None
        sent = self._prompt_decoder.decode(row[0])
        return sent if sent.reply == turn.reply else None

    def calibrations(self) -> dict[str, Calibration]:
        """Every model's calibration, by model name."""
        return {model: self._calibration_decoder.decode(data)
                for model, data in self._conn.execute(
                    "SELECT model, data FROM token_calibration")}

    def put_calibration(self, model: str, calibration: Calibration) -> None:
        self._conn.execute(
            "INSERT INTO token_calibration (model, data) VALUES (?, ?)"
            " ON CONFLICT (model) DO UPDATE SET data = excluded.data",
            (model, canonical_json(calibration)))
