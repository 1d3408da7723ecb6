"""A real process hosting one engine, for the SIGKILL durability test.

Usage: ``python -m tests.engine.crash_child DATA_DIR NOW``. Reads one user message per stdin
line; prints ``delta`` lines while a reply streams and one ``ack`` JSON line (turn id and
vitals) after the turn is acknowledged. The clock is fixed at ``NOW`` so the parent can
compare vitals exactly.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from tests.engine.characters import sensitive_character
from worker.backends.base import TextDelta
from worker.backends.scripted import ScriptedBackend
from worker.engine.character_engine import CharacterEngine
from worker.engine.results import TurnResult


async def main(data_dir: Path, now: float) -> None:
    engine = CharacterEngine.open(sensitive_character(), data_dir=data_dir,
                                  backend=ScriptedBackend(word_delay_s=0.05), clock=lambda: now)
    print(json.dumps({"ready": True}), flush=True)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        async for event in engine.chat(line.rstrip("\n"), user="sam"):
            if isinstance(event, TurnResult):
                print(json.dumps({"ack": event.turn_id, "vitals": event.vitals}), flush=True)
            elif isinstance(event, TextDelta):
                print(json.dumps({"delta": event.text}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), float(sys.argv[2])))
