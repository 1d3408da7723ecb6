"""The checkout's own directories, as the tests and benchmarks need them.

``BUNDLED_CHARACTERS`` is ``Settings``' default characters directory (the nine bundled
characters), so a test that says "the bundled ones" means exactly what ``greenroom serve``
loads when nothing is configured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from runtime.settings import REPO_ROOT, Settings

__all__ = ["BUNDLED_CHARACTERS", "REPO_ROOT"]

BUNDLED_CHARACTERS: Final[Path] = Settings().characters_dir
