"""Characters directories for tests: copies of the bundled characters.

Benchmarks and load tests need more characters than the nine bundled ones (20 for cold
start and concurrency). A copy is the bundled YAML file verbatim under a new file name; the
id of a character is its file's stem, so the copies are distinct characters with distinct
databases and workers.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from tests.support.paths import BUNDLED_CHARACTERS


def character_copies(dest: Path, count: int, *, template: str = "m-playful",
                     prefix: str = "copy") -> list[str]:
    """Write ``count`` copies of bundled ``template`` into ``dest`` as ``<prefix>-NN``;
    returns their ids in order."""
    dest.mkdir(parents=True, exist_ok=True)
    source = BUNDLED_CHARACTERS / f"{template}.yaml"
    ids = [f"{prefix}-{index:02d}" for index in range(1, count + 1)]
    for character_id in ids:
        shutil.copyfile(source, dest / f"{character_id}.yaml")
    return ids


def with_bundled(dest: Path, ids: Iterable[str] | None = None) -> list[str]:
    """Copy bundled characters into ``dest`` unchanged — the ones named by ``ids``, every
    one when ``ids`` is None — so a test owns its directory (and can add or break files in
    it); returns their ids in order."""
    dest.mkdir(parents=True, exist_ok=True)
    if ids is None:
        ids = [path.stem for path in sorted(BUNDLED_CHARACTERS.glob("*.yaml"))]
    copied = []
    for character_id in ids:
        shutil.copyfile(BUNDLED_CHARACTERS / f"{character_id}.yaml", dest / f"{character_id}.yaml")
        copied.append(character_id)
    return copied
