"""The worker state table: every (state, input) pair is either listed or refused."""

from __future__ import annotations

import itertools

import pytest

from protocol.states import WorkerState
from supervisor.pool.lifecycle import (
    TRANSITIONS,
    WORKER_STATES,
    IllegalTransition,
    Lifecycle,
    WorkerLifecycle,
    next_state,
)

EXPECTED: dict[tuple[WorkerState, Lifecycle], WorkerState] = {
    ("stopped", Lifecycle.SPAWN): "starting",
    ("restarting", Lifecycle.SPAWN): "starting",
    ("starting", Lifecycle.READY): "ready",
    ("debugging", Lifecycle.READY): "debugging",
    ("starting", Lifecycle.DEBUGGER): "debugging",
    ("ready", Lifecycle.DEBUGGER): "debugging",
    ("debugging", Lifecycle.DEBUGGER): "debugging",
    ("starting", Lifecycle.CRASHED): "restarting",
    ("ready", Lifecycle.CRASHED): "restarting",
    ("debugging", Lifecycle.CRASHED): "restarting",
    ("starting", Lifecycle.QUARANTINED): "failed",
    ("ready", Lifecycle.QUARANTINED): "failed",
    ("debugging", Lifecycle.QUARANTINED): "failed",
    **{(state, Lifecycle.RESTART): "restarting" for state in WORKER_STATES},
    ("starting", Lifecycle.RELOAD): "restarting",
    ("ready", Lifecycle.RELOAD): "restarting",
    ("debugging", Lifecycle.RELOAD): "restarting",
    ("restarting", Lifecycle.RELOAD): "restarting",
    ("failed", Lifecycle.RELOAD): "restarting",
    **{(state, Lifecycle.STOP): "stopped" for state in WORKER_STATES},
}


def test_the_pool_decides_by_the_states_clients_see() -> None:
    assert WORKER_STATES == (
        "starting", "ready", "debugging", "restarting", "failed", "stopped")


@pytest.mark.parametrize(("state", "event"), list(itertools.product(WORKER_STATES, Lifecycle)))
def test_every_pair_follows_the_table_or_is_refused(
    state: WorkerState, event: Lifecycle
) -> None:
    if (state, event) in EXPECTED:
        assert next_state(state, event) == EXPECTED[(state, event)]
    else:
        with pytest.raises(IllegalTransition):
            next_state(state, event)


def test_the_table_has_no_entry_beyond_the_specification() -> None:
    assert TRANSITIONS == EXPECTED


def test_a_crashed_worker_is_back_to_ready_through_restarting_and_starting() -> None:
    life = WorkerLifecycle("m-playful")
    path = [life.apply(e) for e in (Lifecycle.SPAWN, Lifecycle.READY, Lifecycle.CRASHED,
                                    Lifecycle.SPAWN, Lifecycle.READY)]
    assert path == ["starting", "ready", "restarting", "starting", "ready"]


def test_a_quarantined_worker_only_leaves_failed_by_restart_reload_or_stop() -> None:
    leaving = {e for (s, e) in TRANSITIONS if s == "failed"}
    assert leaving == {Lifecycle.RESTART, Lifecycle.RELOAD, Lifecycle.STOP}


def test_a_worker_that_never_started_is_not_reloaded() -> None:
    with pytest.raises(IllegalTransition):
        next_state("stopped", Lifecycle.RELOAD)


def test_illegal_transition_names_the_character_state_and_input() -> None:
    with pytest.raises(IllegalTransition, match=r"'zen'.*'ready'.*'stopped'"):
        WorkerLifecycle("zen").apply(Lifecycle.READY)


def test_heartbeats_never_apply_to_a_debugged_worker() -> None:
    life = WorkerLifecycle("m-playful", "ready")
    assert life.heartbeats_apply
    life.apply(Lifecycle.DEBUGGER)
    assert not life.heartbeats_apply
    assert life.accepts_requests
