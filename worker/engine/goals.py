"""The character's goals, split into what it may say and what it must never reveal.

Goals come from the character file unchanged (``short_term``, ``long_term``, ``hidden``),
ordered by priority (highest first; the file's order breaks ties). Hidden goals steer the
prompt but are never shown to the user: the prompt marks them secret and the status report
counts them without listing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.model import Character, Goal


def _by_priority(goals: list[Goal]) -> tuple[Goal, ...]:
    # sorted() is stable, so equal priorities keep the file's order.
    return tuple(sorted(goals, key=lambda goal: -goal.priority))


@dataclass(frozen=True, slots=True)
class Goals:
    short_term: tuple[Goal, ...]
    long_term: tuple[Goal, ...]
    hidden: tuple[Goal, ...]

    @classmethod
    def of(cls, character: Character) -> Goals:
        return cls(
            short_term=_by_priority([g for g in character.goals if g.goal_type == "short_term"]),
            long_term=_by_priority([g for g in character.goals if g.goal_type == "long_term"]),
            hidden=_by_priority([g for g in character.goals if g.goal_type == "hidden"]),
        )

    def public(self) -> list[dict[str, Any]]:
        """Short- and long-term goals as JSON-able dicts, for status reports."""
        return [
            {"goal_id": g.goal_id, "goal_type": g.goal_type, "description": g.description,
             "priority": g.priority}
            for g in (*self.short_term, *self.long_term)
        ]
