"""Warm a process up before it forks workers: pay every first-use cost once, in the zygote.

Importing the worker's code is not all a fresh worker pays before it answers. Much is built
lazily on first use, per process: VADER's lexicon (``SentimentIntensityAnalyzer``, ~8 ms),
the TLS context every httpx client loads from certifi (~15 ms per client), the ``isinstance``
caches of abstract base classes that character parsing fills (~4 ms), SQLite statements,
pydantic and msgspec validators, the regular expressions the memory code matches by pattern
string. ``rehearse()`` exercises all of it once — parse a character, open its engine on a
throwaway directory, make one turn with the offline backend, read status, search memory,
build and close an HTTP client — so every worker forked afterwards inherits the warm state
(copy-on-write) instead of rebuilding it.

Promises: nothing outside a temporary directory is read or written except the character file
read; nothing of the rehearsal survives it but caches (no open file, socket, thread or event
loop is left behind, which matters in a process that forks); in portable mode (macOS) no
HTTP client is built and no proxy is looked up (``supervisor.pool.fork_hazards``). Any failure is
returned as a ``RehearsalProblem`` (with the exception, so the fork server can say which file
and line failed) and costs only the warm-up. A fork server started with ``serve`` forks workers
anyway (they meet the same problem and report it); one started by a reload is refused, and the
workers keep their code. Not for use inside a worker: it would run a turn there.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from runtime.platform_support import mechanisms
from runtime.settings import Settings
from schemas.loader import CHARACTER_SUFFIX, load_character
from schemas.model import Character
from schemas.problems import CharacterError
from worker.backends.http_transport import DEFAULT_TIMEOUTS, make_client, shared_tls_context
from worker.backends.scripted import ScriptedBackend
from worker.engine.appraisal import appraise
from worker.engine.character_engine import CharacterEngine

REHEARSAL_MESSAGE = "Hello! My name is Sam and I love cooking. What did you do today?"
"""Long enough to reach appraisal, memory formation (a name, a preference) and the prompt."""


@dataclass(frozen=True, slots=True)
class RehearsalProblem:
    """What could not be warmed: ``text`` says what; ``error`` is the exception raised, with
    its traceback, when there was one."""

    text: str
    error: BaseException | None = None


def rehearse(characters_dir: Path | None = None) -> list[RehearsalProblem]:
    """Warm this process up (see the module docstring); returns what could not be warmed.

    ``characters_dir`` (default: the bundled characters) supplies the character the turn is
    rehearsed with: the first one, by id, that loads.
    """
    problems: list[RehearsalProblem] = []
    directory = characters_dir if characters_dir is not None else Settings().characters_dir
    scratch = Path(tempfile.mkdtemp(prefix="greenroom-warmup-"))
    try:
        appraise(REHEARSAL_MESSAGE)  # VADER's lexicon, even if no character can be rehearsed
        asyncio.run(_rehearse(directory, scratch, problems))
    except Exception as exc:
        problems.append(RehearsalProblem("rehearsal failed", exc))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return problems


async def _rehearse(characters_dir: Path, scratch: Path,
                    problems: list[RehearsalProblem]) -> None:
    # A client per backend process is the norm; building one here loads the shared TLS
    # context and httpx's lazily imported transport code. Not on macOS (portable mode): no
    # HTTP client may be built before fork there (``supervisor.pool.fork_hazards``); the TLS
    # context alone is safe.
    if mechanisms().zygote_http_warmup:
        await make_client("http://127.0.0.1:9", DEFAULT_TIMEOUTS).aclose()
    else:
        shared_tls_context()
    character = _first_loadable(characters_dir)
    if character is None:
        problems.append(RehearsalProblem(
            f"no loadable character in {characters_dir} to rehearse a turn with"))
        return
    backend = ScriptedBackend()
    engine = CharacterEngine.open(character, data_dir=scratch, backend=backend)
    try:
        async for _event in engine.chat(REHEARSAL_MESSAGE):
            pass
        engine.status(include_vitals=True, include_history=True, include_performance=True)
        await engine.search_memory("cooking", 5)
        engine.character_info()
    finally:
        engine.close()
        await backend.aclose()


def _first_loadable(characters_dir: Path) -> Character | None:
    for path in sorted(characters_dir.glob(f"*{CHARACTER_SUFFIX}")):
        try:
            return load_character(path, characters_dir).character
        except CharacterError:
            continue
    return None
