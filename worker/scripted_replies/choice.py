"""The one way a scripted reply chooses: by arithmetic on a seed, never ``random`` or ``hash()``."""

from __future__ import annotations

from collections.abc import Sequence


def pick(options: Sequence[str], seed: int, slot: int = 0) -> str:
    """One of ``options`` by arithmetic only; ``slot`` staggers independent choices."""
    return options[(seed + slot) % len(options)]
