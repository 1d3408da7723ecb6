"""The worker state table: every (state, input) pair is either listed or refused."""

from __future__ import annotations

import itertools

import pytest

from supervisor.pool.api import WorkerState as S
from supervisor.pool.lifecycle import (
    TRANSITIONS,
    IllegalTransition,
    Lifecycle,
    WorkerLifecycle,
    next_state,
)

EXPECTED = {
    (S.STOPPED, Lifecycle.SPAWN): S.STARTING,
    (S.RESTARTING, Lifecycle.SPAWN): S.STARTING,
    (S.STARTING, Lifecycle.READY): S.READY,
    (S.DEBUGGING, Lifecycle.READY): S.DEBUGGING,
    (S.STARTING, Lifecycle.DEBUGGER): S.DEBUGGING,
    (S.READY, Lifecycle.DEBUGGER): S.DEBUGGING,
    (S.DEBUGGING, Lifecycle.DEBUGGER): S.DEBUGGING,
    (S.STARTING, Lifecycle.CRASHED): S.RESTARTING,
    (S.READY, Lifecycle.CRASHED): S.RESTARTING,
    (S.DEBUGGING, Lifecycle.CRASHED): S.RESTARTING,
    (S.STARTING, Lifecycle.QUARANTINED): S.FAILED,
    (S.READY, Lifecycle.QUARANTINED): S.FAILED,
    (S.DEBUGGING, Lifecycle.QUARANTINED): S.FAILED,
    **{(state, Lifecycle.RESTART): S.RESTARTING for state in S},
    **{(state, Lifecycle.STOP): S.STOPPED for state in S},
}


@pytest.mark.parametrize(("state", "event"), list(itertools.product(S, Lifecycle)))
def test_every_pair_follows_the_table_or_is_refused(state: S, event: Lifecycle) -> None:
    if (state, event) in EXPECTED:
        assert next_state(state, event) is EXPECTED[(state, event)]
    else:
        with pytest.raises(IllegalTransition):
            next_state(state, event)


def test_the_table_has_no_entry_beyond_the_specification() -> None:
    assert TRANSITIONS == EXPECTED


def test_a_crashed_worker_is_back_to_ready_through_restarting_and_starting() -> None:
    life = WorkerLifecycle("m-playful")
    path = [life.apply(e) for e in (Lifecycle.SPAWN, Lifecycle.READY, Lifecycle.CRASHED,
                                    Lifecycle.SPAWN, Lifecycle.READY)]
    assert path == [S.STARTING, S.READY, S.RESTARTING, S.STARTING, S.READY]


def test_a_quarantined_worker_only_leaves_failed_by_restart_or_stop() -> None:
    leaving = {e for (s, e) in TRANSITIONS if s is S.FAILED}
    assert leaving == {Lifecycle.RESTART, Lifecycle.STOP}


def test_illegal_transition_names_the_character_state_and_input() -> None:
    with pytest.raises(IllegalTransition, match=r"'zen'.*'ready'.*'stopped'"):
        WorkerLifecycle("zen").apply(Lifecycle.READY)


def test_heartbeats_never_apply_to_a_debugged_worker() -> None:
    life = WorkerLifecycle("m-playful", S.READY)
    assert life.heartbeats_apply
    life.apply(Lifecycle.DEBUGGER)
    assert not life.heartbeats_apply
    assert life.accepts_requests
