"""The lifecycle of one character's worker as a state table (h11 style: data, not code).

States are the wire's ``protocol.states.WorkerState`` — the pool needs no finer ones, so
what a client sees in ``worker_state_event`` is the table's own state, not a translation.
Inputs are ``Lifecycle`` values. ``TRANSITIONS`` lists every legal (state, input) pair; anything
else is a bug in the shell and raises ``IllegalTransition`` rather than silently drifting
(mypy checks every state named in the table against the vocabulary). The pool drives one
``WorkerLifecycle`` per character and reports every change to the gateway.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, get_args

from protocol.states import WorkerState

WORKER_STATES: Final[tuple[WorkerState, ...]] = get_args(WorkerState)


class Lifecycle(StrEnum):
    """What can happen to a worker."""

    SPAWN = "spawn"  # a process is being forked for the character
    READY = "ready"  # the worker sent ``Ready``: its engine is open
    DEBUGGER = "debugger"  # a debugger listens in the worker: heartbeats no longer apply
    CRASHED = "crashed"  # abnormal exit (or killed for silence/memory), will be restarted
    QUARANTINED = "quarantined"  # abnormal exit past the restart intensity limit
    RESTART = "restart"  # an operator asked for a restart (clears quarantine)
    RELOAD = "reload"  # a reload moves the worker onto newer code or a changed character file
    STOP = "stop"  # the pool stops the worker for good (shutdown)


RUNNING: Final[tuple[WorkerState, ...]] = ("starting", "ready", "debugging")
"""The states in which a process of the character exists."""

TRANSITIONS: Final[dict[tuple[WorkerState, Lifecycle], WorkerState]] = {
    ("stopped", Lifecycle.SPAWN): "starting",
    ("restarting", Lifecycle.SPAWN): "starting",
    ("starting", Lifecycle.READY): "ready",
    # A worker started with --debug-wait announces its debugger before it is ready, and stays
    # ``debugging`` once ready: it may be paused at a breakpoint at any moment.
    ("debugging", Lifecycle.READY): "debugging",
    **{(state, Lifecycle.DEBUGGER): "debugging" for state in RUNNING},
    **{(state, Lifecycle.CRASHED): "restarting" for state in RUNNING},
    **{(state, Lifecycle.QUARANTINED): "failed" for state in RUNNING},
    **{(state, Lifecycle.RESTART): "restarting" for state in WORKER_STATES},
    # A worker that is not running yet needs no reload: it starts from the newest code.
    **{(state, Lifecycle.RELOAD): "restarting"
       for state in (*RUNNING, "restarting", "failed")},
    **{(state, Lifecycle.STOP): "stopped" for state in WORKER_STATES},
}


class IllegalTransition(RuntimeError):
    """The shell fed an input the current state does not accept (a supervisor bug)."""

    def __init__(self, character_id: str, state: WorkerState, event: Lifecycle) -> None:
        super().__init__(
            f"worker {character_id!r}: input {event.value!r} is not valid in state {state!r}"
        )
        self.state = state
        self.event = event


def next_state(state: WorkerState, event: Lifecycle, character_id: str = "?") -> WorkerState:
    """The state after ``event``; raises ``IllegalTransition`` for a pair not in the table."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransition(character_id, state, event) from None


class WorkerLifecycle:
    """The current state of one character's worker; ``apply`` moves it by the table."""

    def __init__(self, character_id: str, state: WorkerState = "stopped") -> None:
        self.character_id = character_id
        self.state = state

    def apply(self, event: Lifecycle) -> WorkerState:
        """Move to the next state and return it (raises ``IllegalTransition``)."""
        self.state = next_state(self.state, event, self.character_id)
        return self.state

    @property
    def accepts_requests(self) -> bool:
        """Whether client requests may be forwarded to the worker in this state (the shell
        additionally checks that the worker sent ``Ready``)."""
        return self.state in ("ready", "debugging")

    @property
    def heartbeats_apply(self) -> bool:
        """Silence kills a worker only when nobody may legitimately have paused it."""
        return self.state in ("starting", "ready")
