"""Die with the parent: ``PR_SET_PDEATHSIG(SIGKILL)`` plus the re-check that closes its race.

Used by the zygote (parent: the supervisor) and by every worker (parent: the zygote). Linux
delivers the signal when the *thread* that forked us exits, so the supervisor starts the zygote
from its event-loop thread, which lives as long as the supervisor does.

In portable mode (``runtime.platform_support``) no signal is asked for: the caller watches
``parent_gone`` periodically instead (the zygote between two ``select`` calls, a worker in its
hang-up watcher thread), besides the EOF of its channel to the supervisor.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import signal
from typing import Final

from runtime.platform_support import mechanisms

PR_SET_PDEATHSIG: Final = 1


@functools.cache
def _libc() -> ctypes.CDLL:
    # find_library runs `ldconfig -p` in a subprocess (milliseconds): done once per process,
    # and the zygote's handle is inherited by every worker it forks.
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send ``sig`` when our parent dies; False where unsupported or in
    portable mode."""
    if mechanisms().portable:
        return False
    return int(_libc().prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0


def parent_gone(expected_parent_pid: int) -> bool:
    """True once we have been reparented (the parent died)."""
    return os.getppid() != expected_parent_pid


def die_with_parent(expected_parent_pid: int) -> None:
    """Arrange to be SIGKILLed when our parent dies (Linux); exit now if it already has.

    The parent may die between ``fork`` and ``prctl``: then the signal never comes and we are
    already reparented, which the ``getppid`` re-check catches.
    """
    set_parent_death_signal(signal.SIGKILL)
    if parent_gone(expected_parent_pid):
        os._exit(1)
