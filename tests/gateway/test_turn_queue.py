"""The per-character turn queue: one active turn, a bounded FIFO behind it."""

from __future__ import annotations

import pytest

from supervisor.gateway.turn_queue import Admission, TurnQueue


def test_first_turn_starts_immediately() -> None:
    queue = TurnQueue(depth=2)
    assert queue.offer("a", 1) is Admission.START
    assert queue.active("a") == 1


def test_turns_behind_the_active_one_wait_in_order() -> None:
    queue = TurnQueue(depth=2)
    queue.offer("a", 1)
    assert queue.offer("a", 2) is Admission.QUEUED
    assert queue.offer("a", 3) is Admission.QUEUED
    assert queue.finish("a", 1) == 2
    assert queue.finish("a", 2) == 3
    assert queue.finish("a", 3) is None
    assert queue.active("a") is None


def test_turn_beyond_the_depth_is_refused() -> None:
    queue = TurnQueue(depth=1)
    queue.offer("a", 1)
    queue.offer("a", 2)
    assert queue.offer("a", 3) is Admission.FULL
    assert queue.waiting("a") == 1


def test_depth_zero_allows_only_the_active_turn() -> None:
    queue = TurnQueue(depth=0)
    assert queue.offer("a", 1) is Admission.START
    assert queue.offer("a", 2) is Admission.FULL


def test_characters_have_independent_lines() -> None:
    queue = TurnQueue(depth=0)
    assert queue.offer("a", 1) is Admission.START
    assert queue.offer("b", 2) is Admission.START


def test_withdrawn_waiting_turn_is_never_handed_out() -> None:
    queue = TurnQueue(depth=3)
    queue.offer("a", 1)
    queue.offer("a", 2)
    queue.offer("a", 3)
    assert queue.withdraw("a", 2)
    assert queue.finish("a", 1) == 3


def test_finishing_a_waiting_turn_withdraws_it_and_keeps_the_active_one() -> None:
    queue = TurnQueue(depth=3)
    queue.offer("a", 1)
    queue.offer("a", 2)
    assert queue.finish("a", 2) is None
    assert queue.active("a") == 1
    assert queue.waiting("a") == 0


def test_finishing_an_unknown_turn_changes_nothing() -> None:
    queue = TurnQueue(depth=3)
    queue.offer("a", 1)
    assert queue.finish("a", 99) is None
    assert queue.finish("zzz", 1) is None
    assert queue.active("a") == 1


def test_clear_returns_active_then_waiting_and_frees_the_line() -> None:
    queue = TurnQueue(depth=3)
    for request_id in (1, 2, 3):
        queue.offer("a", request_id)
    assert queue.clear("a") == [1, 2, 3]
    assert queue.offer("a", 4) is Admission.START


def test_idle_character_is_not_listed() -> None:
    queue = TurnQueue(depth=1)
    queue.offer("a", 1)
    queue.finish("a", 1)
    assert queue.characters() == []


def test_negative_depth_is_rejected() -> None:
    with pytest.raises(ValueError):
        TurnQueue(depth=-1)
