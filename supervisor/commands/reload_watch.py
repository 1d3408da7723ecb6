"""``serve --reload``: watch the project's Python files and the characters directory, and
reload the pool after each burst of changes.

``watchfiles`` (inotify on Linux, FSEvents on macOS) groups a burst of changes — an editor's
save writes a file more than once, a ``git checkout`` writes many — into one batch: it waits
``STEP_MS`` for more after each change, at most ``DEBOUNCE_MS`` in all. Each batch is one
``WorkerPool.reload()`` of every worker, which rolls only those whose code or character file
changed. Nothing the watcher sees is trusted beyond "something changed": the pool compares
the files with what each fork server and worker loaded.

A batch whose code fails to load leaves everything serving, and is reported on the console
and in the log (``code_reload_failed`` with the traceback) and shown by ``greenroom ps``
until the files change again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Final

import structlog
from watchfiles import Change, DefaultFilter, awatch

from schemas.loader import CHARACTER_SUFFIX
from supervisor.commands.reload_report import render_reload
from supervisor.gateway.gateway_answers import reload_response
from supervisor.pool.api import PoolError
from supervisor.pool.code_fingerprint import PROJECT_ROOT, WORKER_PACKAGES
from supervisor.pool.worker_pool import WorkerPool

log = structlog.get_logger()

DEBOUNCE_MS: Final = 1000
STEP_MS: Final = 100
WATCHED_PACKAGES: Final = (*WORKER_PACKAGES, "supervisor")
"""The worker's code, and the supervisor's (whose changes need a restart of ``serve``: the
reload says so)."""


def watched_paths(characters_dir: Path, root: Path = PROJECT_ROOT) -> list[Path]:
    """The directories to watch: the project's packages and the characters directory."""
    paths = [root / package for package in WATCHED_PACKAGES if (root / package).is_dir()]
    if characters_dir.is_dir() and not any(characters_dir.is_relative_to(p) for p in paths):
        paths.append(characters_dir)
    return paths


def relevant(change: Change, path: str, *, default: Callable[[Change, str], bool]) -> bool:
    """Python sources and character files; not caches, editor swap files, ``.pyc``."""
    return default(change, path) and path.endswith((".py", CHARACTER_SUFFIX))


async def watch_and_reload(pool: WorkerPool, characters_dir: Path, stop: asyncio.Event,
                           say: Callable[[str], None]) -> None:
    """Reload after every batch of changes until ``stop`` is set; ``say`` prints a line on
    the console. Logs ``reload_watching`` once changes are being recorded."""
    default = DefaultFilter()
    paths = watched_paths(characters_dir)
    batches = awatch(*paths, watch_filter=lambda c, p: relevant(c, p, default=default),
                     debounce=DEBOUNCE_MS, step=STEP_MS, stop_event=stop)
    pending = asyncio.ensure_future(anext(batches))
    try:
        # The watcher exists once the generator reached its first wait: changes from now on
        # are recorded, even while a reload runs.
        await asyncio.sleep(0)
        log.info("reload_watching", paths=[str(p) for p in paths])
        while True:
            try:
                changes = await pending
            except StopAsyncIteration:
                return
            files = sorted({_shown(path) for _change, path in changes})
            log.info("reload_triggered", files=files)
            pending = asyncio.ensure_future(anext(batches))
            try:
                outcome = await pool.reload()
            except PoolError as exc:  # the server is stopping
                log.warning("reload_skipped", error=str(exc))
                continue
            except Exception:
                # A bug in one reload must not end the watching (nor the server).
                log.exception("reload_crashed", files=files)
                continue
            text, code = render_reload(reload_response(outcome))
            say(("reload: " if code == 0 else "reload FAILED: ") + ", ".join(files)
                + "\n" + text)
    finally:
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await pending
        await batches.aclose()


def _shown(path: str) -> str:
    file = Path(path)
    return file.relative_to(PROJECT_ROOT).as_posix() if file.is_relative_to(PROJECT_ROOT) else path
