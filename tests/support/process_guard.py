"""Keeps the ``process`` marker honest: with ``--forbid-processes`` a test that starts a process
without carrying the marker fails, naming the marker to add.

``make test-fast`` runs ``-m "not process" --forbid-processes``: the edit loop's pure tests,
and a guarantee that none of them quietly forks a supervisor. Every way the suite starts a
process goes through one of the patched entry points: ``subprocess`` (and asyncio's subprocess
transport, which uses it), ``os.fork`` (greenroom's fork server, ``pty.fork`` and pexpect), and
``os.posix_spawn``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

PROCESS_MARKER = "process"
OPTION = "--forbid-processes"


class ProcessStartedInFastTest(AssertionError):
    pass


_current: pytest.Item | None = None
"""The test being set up, run or torn down: module-scoped fixtures start inside its setup."""


def _guarded(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if _current is not None and _current.get_closest_marker(PROCESS_MARKER) is None:
            raise ProcessStartedInFastTest(
                f"{_current.nodeid} starts a process ({name}) but is not marked "
                f"'@pytest.mark.{PROCESS_MARKER}'; mark it (or its module: "
                f"pytestmark = pytest.mark.{PROCESS_MARKER}) so `make test-fast` leaves it out"
            )
        return original(*args, **kwargs)

    return guarded


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        OPTION,
        action="store_true",
        help="fail any test not marked 'process' that starts a process (used by make test-fast)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{PROCESS_MARKER}: starts real processes (supervisor, workers, CLI, pty); "
        "left out of `make test-fast`",
    )
    if not config.getoption(OPTION):
        return
    popen: Any = subprocess.Popen
    popen._execute_child = _guarded("subprocess", popen._execute_child)
    for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp"):
        if hasattr(os, name):
            setattr(os, name, _guarded(f"os.{name}", getattr(os, name)))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    global _current
    _current = item
    try:
        return (yield)
    finally:
        _current = None
