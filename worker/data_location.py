"""Whether a character's data is where its Ray actor is about to run (``--placement ray``).

Each character's SQLite database must be on the node its actor runs on. Two layouts keep it
so (docs/scaling.md): a **shared** data directory mounted at the same path on every node, or
characters **pinned** to the nodes labelled ``greenroom-data=VALUE`` that hold them. A start
on a node that lacks the data would open an empty database there — a character that has
silently forgotten everything — so the actor refuses instead (``data_problem``), and the
cast's restart policy treats that as a failed start (retried, then quarantined, with this
message in the crash report).

Pure but for reading two paths; no Ray, and the engine only inside ``data_problem``
(the cast imports this module for the pins).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

SHARED_MARKER: Final = ".greenroom-shared"
"""The file the cast writes into the shared data directory: it holds the deployment's id."""
PIN_LABEL: Final = "greenroom-data"
"""The Ray node label a pinned character's actor must find (``ray start --labels``)."""


@dataclass(frozen=True, slots=True)
class DataExpectation:
    """What the actor's node must hold before the character opens its database.

    ``deployment``: unpinned characters (shared layout) need the shared data directory,
    recognised by its marker holding this id; ``None`` for a pinned character.
    ``database_expected``: the character has opened its database before, so it must exist."""

    deployment: str | None
    database_expected: bool


def data_problem(expect: DataExpectation, data_dir: Path, character_id: str,
                 node: str) -> str | None:
    """Why ``character_id`` must not start on ``node`` with ``data_dir``, else ``None``."""
    from worker.engine.database import database_path  # the engine: only where it runs

    if expect.deployment is not None:
        marker = data_dir / SHARED_MARKER
        try:
            found: str | None = marker.read_text(encoding="utf-8").strip()
        except OSError:
            found = None
        if found != expect.deployment:
            what = "is missing" if found is None else "belongs to another deployment"
            return (f"character {character_id!r} cannot start on node {node}: {data_dir} there "
                    f"is not the shared data directory ({marker} {what}); mount the shared "
                    "directory at that path on every node, or pin the character to the nodes "
                    "that hold it with GREENROOM_RAY_PINS (docs/scaling.md)")
    if expect.database_expected and not database_path(data_dir, character_id).is_file():
        return (f"character {character_id!r} cannot start on node {node}: its database "
                f"({database_path(data_dir, character_id)}) is not on that node, and starting "
                "would begin an empty history; run it where its data is (GREENROOM_RAY_PINS) "
                "or use a shared data directory (docs/scaling.md)")
    return None


def parse_pins(text: str | None) -> dict[str, str]:
    """``GREENROOM_RAY_PINS`` (``ID=VALUE,…``, ``*=VALUE`` for the rest) as a mapping.
    Raises ``ValueError`` naming the part that is not ``ID=VALUE``."""
    pins: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        character_id, sep, value = part.partition("=")
        if not sep or not character_id.strip() or not value.strip():
            raise ValueError(f"GREENROOM_RAY_PINS: {part.strip()!r} is not ID=VALUE")
        pins[character_id.strip()] = value.strip()
    return pins


def pin_of(character_id: str, pins: dict[str, str]) -> str | None:
    """The ``greenroom-data`` label value the character's node needs (``None``: unpinned)."""
    return pins.get(character_id, pins.get("*"))
