"""A characters directory holding N copies of one bundled character under new ids.

Benchmarks and load tests need more characters than the nine bundled ones (20 for cold
start and concurrency). A copy is the bundled YAML file verbatim under a new file name; the
id of a character is its file's stem, so the copies are distinct characters with distinct
databases and workers.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.running_server import BUNDLED_CHARACTERS


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


def with_bundled(dest: Path) -> list[str]:
    """Copy every bundled character into ``dest`` unchanged (so a test can add broken ones
    beside them); returns their ids."""
    dest.mkdir(parents=True, exist_ok=True)
    ids = []
    for path in sorted(BUNDLED_CHARACTERS.glob("*.yaml")):
        shutil.copyfile(path, dest / path.name)
        ids.append(path.stem)
    return ids
