"""What the supervisor tells a new worker: the one module of ``worker/`` the supervisor imports.

No engine code: the supervisor (gateway, pool) imports this without loading the engine,
numpy or VADER; only the fork server and the worker itself import ``worker.main``.
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.settings import Settings


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What the supervisor tells a new worker (pickled through the fork server).

    ``generation`` counts starts of this character's worker (1 for the first). With
    ``debug_port`` set, debugpy listens on it (0: any free port) before the engine opens;
    ``debug_wait`` then blocks until a debugger attaches.
    """

    character_id: str
    generation: int
    settings: Settings
    debug_port: int | None = None
    debug_wait: bool = False
