"""The router as a sans-I/O core: each input is a plain call, each outcome a list of effects.

Effects are read through ``summary`` — tuples that say who gets what — because messages carry
a creation timestamp. The promises of ``router.py`` each have tests here, and one randomised
run checks the first (exactly one final answer per admitted request) over many interleavings.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from protocol.chat import ChatDelta, ChatRequest, ChatResponse, GenerationStatus
from protocol.errors import ErrorResponse
from protocol.pipe import WorkerReply
from protocol.queries import StatusRequest, StatusResponse
from protocol.snapshots import ExportChunk, ExportRequest, ExportResponse
from protocol.unions import ServerMessage, message_type_of
from supervisor.gateway.effects import (
    AllAnswered,
    AnswerSession,
    CancelAtWorker,
    CreditWorker,
    DeadlineSet,
    Effect,
    SendToSession,
    SendToWorker,
)
from supervisor.gateway.router import Router

TIMEOUT_S = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make_router(
    clock: Clock, *, depth: int = 8, session_limit: int = 64
) -> Router:
    return Router(clock=clock, request_timeout_s=TIMEOUT_S, turn_queue_depth=depth,
                  session_request_limit=session_limit)


def outcome(message: ServerMessage) -> str:
    return message.error_code if isinstance(message, ErrorResponse) else type_of(message)


def type_of(message: ServerMessage) -> str:
    return message_type_of(type(message))


def summary(effects: list[Effect]) -> list[tuple[Any, ...]]:
    """Each effect as a tuple: who receives what."""
    out: list[tuple[Any, ...]] = []
    for effect in effects:
        match effect:
            case SendToWorker(character_id=c, request=r):
                out.append(("worker", c, r.request_id, r.message.message_id))
            case CancelAtWorker(character_id=c, request_id=r):
                out.append(("cancel", c, r))
            case CreditWorker(character_id=c, request_id=r):
                out.append(("credit", c, r))
            case SendToSession(session_id=s, message=m, credit_request_id=r):
                out.append(("send", s, m.message_id, type_of(m), r))
            case AnswerSession(session_id=s, message=m):
                out.append(("answer", s, m.message_id, outcome(m)))
            case DeadlineSet(due=due):
                out.append(("deadline", due))
            case AllAnswered():
                out.append(("all_answered",))
    return out


def chat(message_id: str, *, stream: bool = False) -> ChatRequest:
    return ChatRequest(message_id=message_id, user_message="hi", stream=stream)


def turn(router: Router, session_id: str, message: Any, character_id: str = "alpha") -> list[
        Effect]:
    return router.forward(session_id=session_id, character_id=character_id, user="user",
                          message=message, serial=True)


def direct(router: Router, session_id: str, message: Any, character_id: str = "alpha") -> list[
        Effect]:
    return router.forward(session_id=session_id, character_id=character_id, user="user",
                          message=message, serial=False)


def final(request_id: int, message: ServerMessage) -> WorkerReply:
    return WorkerReply(request_id=request_id, message=message, final=True)


def partial(request_id: int, message: ServerMessage) -> WorkerReply:
    return WorkerReply(request_id=request_id, message=message, final=False)


# Forwarding and answers


def test_a_request_goes_to_the_worker_with_a_request_id_of_the_gateways_and_a_deadline() -> None:
    clock = Clock()
    router = make_router(clock)
    request = StatusRequest(message_id="m1")
    effects = direct(router, "s1", request)
    assert summary(effects) == [("deadline", TIMEOUT_S), ("worker", "alpha", 1, "m1")]
    sent = effects[-1]
    assert isinstance(sent, SendToWorker)
    assert (sent.request.session_id, sent.request.user, sent.request.message) == (
        "s1", "user", request)


def test_the_final_reply_is_answered_with_the_clients_message_id_and_its_latency() -> None:
    clock = Clock()
    router = make_router(clock)
    direct(router, "s1", StatusRequest(message_id="m1"))
    clock.now = 0.25
    effects = router.on_reply("alpha", final(1, StatusResponse(message_id="worker-says")))
    assert summary(effects) == [("answer", "s1", "m1", "status_response"), ("all_answered",)]
    answer = effects[0]
    assert isinstance(answer, AnswerSession)
    assert (answer.message_type, answer.latency_s) == ("status_request", 0.25)


def test_equal_message_ids_of_two_sessions_get_their_own_answers() -> None:
    router = make_router(Clock())
    direct(router, "s1", StatusRequest(message_id="same"))
    direct(router, "s2", StatusRequest(message_id="same"))
    second = router.on_reply("alpha", final(2, StatusResponse()))
    first = router.on_reply("alpha", final(1, StatusResponse()))
    assert summary(second) == [("answer", "s2", "same", "status_response")]
    assert summary(first) == [("answer", "s1", "same", "status_response"), ("all_answered",)]


def test_a_reply_from_another_character_or_for_no_request_is_dropped() -> None:
    router = make_router(Clock())
    direct(router, "s1", StatusRequest(message_id="m1"))
    assert router.on_reply("beta", final(1, StatusResponse())) == []
    assert router.on_reply("alpha", final(99, StatusResponse())) == []
    assert router.live() == 1


def test_a_session_over_its_request_limit_is_answered_busy_at_once() -> None:
    router = make_router(Clock(), session_limit=1)
    direct(router, "s1", StatusRequest(message_id="m1"))
    effects = direct(router, "s1", StatusRequest(message_id="m2"))
    assert summary(effects) == [("answer", "s1", "m2", "busy")]
    answer = effects[0]
    assert isinstance(answer, AnswerSession) and answer.latency_s is None
    assert summary(direct(router, "s2", StatusRequest(message_id="m3")))[-1][0] == "worker"


def test_a_dispatch_the_pool_refuses_is_answered_with_its_reason_and_the_next_turn_starts() -> None:
    router = make_router(Clock())
    turn(router, "s1", chat("a"))
    turn(router, "s2", chat("b"))
    effects = router.dispatch_failed(1, "character_restarting", "alpha is restarting")
    assert summary(effects) == [
        ("answer", "s1", "a", "character_restarting"),
        ("deadline", TIMEOUT_S),
        ("worker", "alpha", 2, "b"),
    ]


# Promise: a character's worker receives at most one turn at a time


def test_turns_of_one_character_reach_the_worker_one_at_a_time_in_arrival_order() -> None:
    router = make_router(Clock())
    assert summary(turn(router, "s1", chat("a")))[-1] == ("worker", "alpha", 1, "a")
    assert summary(turn(router, "s2", chat("b"))) == []
    assert summary(turn(router, "s1", chat("c"))) == []
    after_a = router.on_reply("alpha", final(1, ChatResponse()))
    assert summary(after_a) == [
        ("answer", "s1", "a", "chat_response"), ("deadline", TIMEOUT_S),
        ("worker", "alpha", 2, "b")]
    after_b = router.on_reply("alpha", final(2, ChatResponse()))
    assert summary(after_b)[-1] == ("worker", "alpha", 3, "c")


def test_requests_that_are_not_turns_go_out_while_a_turn_runs() -> None:
    router = make_router(Clock())
    turn(router, "s1", chat("a"))
    assert summary(direct(router, "s2", StatusRequest(message_id="st")))[-1] == (
        "worker", "alpha", 2, "st")


def test_turns_of_other_characters_never_wait_for_each_other() -> None:
    router = make_router(Clock())
    turn(router, "s1", chat("a"), "alpha")
    assert summary(turn(router, "s2", chat("b"), "beta"))[-1] == ("worker", "beta", 2, "b")


def test_a_turn_beyond_the_queue_depth_is_answered_busy_and_takes_no_place() -> None:
    router = make_router(Clock(), depth=1)
    turn(router, "s1", chat("a"))
    turn(router, "s1", chat("b"))
    assert summary(turn(router, "s1", chat("c"))) == [("answer", "s1", "c", "busy")]
    assert router.live() == 2
    assert router.turn_queue_depths() == {"alpha": 1}


def test_a_queued_streamed_turn_hears_it_is_queued() -> None:
    router = make_router(Clock())
    turn(router, "s1", chat("a"))
    effects = turn(router, "s2", chat("b", stream=True))
    assert summary(effects) == [("send", "s2", "b", "generation_status", None)]
    status = effects[0]
    assert isinstance(status, SendToSession) and isinstance(status.message, GenerationStatus)
    assert status.message.phase == "queued"


# Promise: a request the client stopped waiting for keeps its turn slot


def test_a_timed_out_turn_keeps_its_slot_until_the_workers_final_reply() -> None:
    clock = Clock()
    router = make_router(clock)
    turn(router, "s1", chat("a"))
    turn(router, "s2", chat("b"))
    clock.now = TIMEOUT_S
    assert summary(router.expire()) == [
        ("answer", "s1", "a", "timeout"), ("cancel", "alpha", 1)]
    late = router.on_reply("alpha", final(1, ChatResponse()))
    assert summary(late) == [("deadline", 2 * TIMEOUT_S), ("worker", "alpha", 2, "b")]


def test_a_closed_sessions_running_turn_keeps_its_slot_until_the_final_reply() -> None:
    router = make_router(Clock())
    turn(router, "s1", chat("a"))
    turn(router, "s2", chat("b"))
    assert summary(router.session_gone("s1")) == [("cancel", "alpha", 1)]
    late = router.on_reply("alpha", final(1, ErrorResponse(error="x", error_code="cancelled")))
    assert summary(late)[-1] == ("worker", "alpha", 2, "b")
    assert [e for e in summary(late) if e[0] == "answer"] == []


def test_a_closed_sessions_waiting_turns_are_dropped_unanswered() -> None:
    router = make_router(Clock())
    turn(router, "s1", chat("a"))
    turn(router, "s2", chat("b"))
    assert summary(router.session_gone("s2")) == []
    after_a = router.on_reply("alpha", final(1, ChatResponse()))
    assert summary(after_a) == [("answer", "s1", "a", "chat_response"), ("all_answered",)]


# Promise: timeout means no answer and no progress for request_timeout_s


def test_progress_moves_the_deadline_instead_of_timing_out() -> None:
    clock = Clock()
    router = make_router(clock)
    turn(router, "s1", chat("a"))
    clock.now = 20.0
    router.on_progress("alpha", 1)
    clock.now = TIMEOUT_S
    assert summary(router.expire()) == [("deadline", 20.0 + TIMEOUT_S)]
    clock.now = 20.0 + TIMEOUT_S
    assert summary(router.expire())[0] == ("answer", "s1", "a", "timeout")


def test_an_unstreamed_delta_is_progress_that_reaches_no_session() -> None:
    clock = Clock()
    router = make_router(clock)
    turn(router, "s1", chat("a"))
    clock.now = 10.0
    assert router.on_reply("alpha", partial(1, ChatDelta(delta="w", index=0))) == []
    clock.now = TIMEOUT_S
    assert summary(router.expire()) == [("deadline", 10.0 + TIMEOUT_S)]


def test_a_queued_turns_clock_starts_when_it_is_dispatched() -> None:
    clock = Clock()
    router = make_router(clock)
    turn(router, "s1", chat("a"))
    turn(router, "s2", chat("b"))
    clock.now = 25.0
    assert ("deadline", 25.0 + TIMEOUT_S) in summary(
        router.on_reply("alpha", final(1, ChatResponse())))
    clock.now = TIMEOUT_S + 1
    assert router.expire() == []
    assert router.next_deadline() == 25.0 + TIMEOUT_S


# Streaming, and promise: a streamed export moves at its reader's pace


def test_deltas_reach_only_a_session_that_asked_to_stream() -> None:
    router = make_router(Clock())
    turn(router, "s1", chat("a", stream=True))
    delta = router.on_reply("alpha", partial(1, ChatDelta(delta="w", index=0)))
    assert summary(delta) == [("send", "s1", "a", "chat_delta", None)]


def test_each_export_chunk_written_earns_the_worker_one_credit() -> None:
    router = make_router(Clock())
    direct(router, "s1", ExportRequest(message_id="e", stream=True))
    chunk = router.on_reply("alpha", partial(1, ExportChunk(seq=0, data="{")))
    assert summary(chunk) == [("send", "s1", "e", "export_chunk", 1)]
    assert summary(router.chunk_written(1)) == [("credit", "alpha", 1)]


def test_an_export_answered_or_abandoned_earns_no_more_credit() -> None:
    clock = Clock()
    router = make_router(clock)
    direct(router, "s1", ExportRequest(message_id="e", stream=True))
    direct(router, "s1", ExportRequest(message_id="f", stream=True))
    router.on_reply("alpha", final(1, ExportResponse()))
    assert router.chunk_written(1) == []
    router.session_gone("s1")
    assert router.chunk_written(2) == []


# Cancel


def test_cancel_of_a_waiting_turn_answers_cancelled_and_it_never_reaches_the_worker() -> None:
    router = make_router(Clock())
    turn(router, "s1", chat("a"))
    turn(router, "s1", chat("b"))
    found, effects = router.cancel("s1", "b")
    assert found
    assert summary(effects) == [("answer", "s1", "b", "cancelled")]
    after_a = router.on_reply("alpha", final(1, ChatResponse()))
    assert [e for e in summary(after_a) if e[0] == "worker"] == []


def test_cancel_of_a_running_request_tells_the_worker_and_its_final_reply_answers() -> None:
    router = make_router(Clock())
    turn(router, "s1", chat("a"))
    found, effects = router.cancel("s1", "a")
    assert found and summary(effects) == [("cancel", "alpha", 1)]
    reply = router.on_reply("alpha", final(1, ErrorResponse(error="x", error_code="cancelled")))
    assert summary(reply)[0] == ("answer", "s1", "a", "cancelled")


def test_cancel_finds_only_the_sessions_own_live_requests() -> None:
    router = make_router(Clock())
    turn(router, "s1", chat("a"))
    assert router.cancel("s2", "a") == (False, [])
    assert router.cancel("s1", "nope") == (False, [])


# A worker gone, and shutdown


@pytest.mark.parametrize(("state", "waiting_code"), [
    ("restarting", "character_restarting"), ("failed", "character_unavailable"),
    ("stopped", "character_unavailable")])
def test_a_dead_workers_requests_are_lost_and_its_waiting_turns_say_when_to_retry(
    state: Any, waiting_code: str
) -> None:
    router = make_router(Clock())
    turn(router, "s1", chat("a"))
    turn(router, "s2", chat("b"))
    direct(router, "s3", StatusRequest(message_id="c"), "beta")
    effects = router.on_worker_down("alpha", state, "exit code -9")
    assert summary(effects) == [
        ("answer", "s1", "a", "worker_crashed"), ("answer", "s2", "b", waiting_code)]
    assert router.turn_queue_depths() == {}
    assert summary(turn(router, "s1", chat("d")))[-1] == ("worker", "alpha", 4, "d")


def test_shutdown_answers_every_live_request_and_cancels_those_at_workers() -> None:
    router = make_router(Clock())
    turn(router, "s1", chat("a"))
    turn(router, "s2", chat("b"))
    effects = router.cancel_everything("greenroom is shutting down")
    assert summary(effects) == [
        ("cancel", "alpha", 1), ("answer", "s1", "a", "shutting_down"),
        ("answer", "s2", "b", "shutting_down")]
    assert (router.live(), router.next_deadline(), router.turn_queue_depths()) == (0, None, {})


# Promise: every admitted request gets exactly one final answer


@pytest.mark.parametrize("seed", range(25))
def test_every_admitted_request_gets_exactly_one_final_answer(seed: int) -> None:
    """Random interleavings of requests, replies, progress, cancels, timeouts, refused
    dispatches, crashes and closed sessions; at the end, shutdown answers the rest."""
    rng = random.Random(seed)
    clock = Clock()
    router = make_router(clock, depth=2, session_limit=3)
    sessions, characters = ["s1", "s2", "s3"], ["alpha", "beta"]
    gone: set[str] = set()
    at_worker: dict[int, str] = {}  # request id → character, as the worker sees it
    admitted: set[tuple[str, str]] = set()
    answers: dict[tuple[str, str], int] = {}

    def apply(effects: list[Effect]) -> None:
        pending = list(effects)
        while pending:
            effect = pending.pop(0)
            if isinstance(effect, SendToWorker):
                if rng.random() < 0.1:
                    pending[:0] = router.dispatch_failed(
                        effect.request.request_id, "character_restarting", "restarting")
                else:
                    at_worker[effect.request.request_id] = effect.character_id
            elif isinstance(effect, AnswerSession):
                assert effect.session_id not in gone, "an answer for a closed session"
                key = (effect.session_id, str(effect.message.message_id))
                answers[key] = answers.get(key, 0) + 1

    for step in range(120):
        clock.now += rng.choice([0.0, 1.0, 10.0])
        action = rng.random()
        live_sessions = [s for s in sessions if s not in gone]
        if action < 0.35 and live_sessions:
            session_id = rng.choice(live_sessions)
            message_id = f"{session_id}-{step}"
            serial = rng.random() < 0.6
            effects = router.forward(
                session_id=session_id, character_id=rng.choice(characters), user="user",
                message=chat(message_id) if serial else StatusRequest(message_id=message_id),
                serial=serial)
            refused = [e for e in effects if isinstance(e, AnswerSession)
                       and e.message.message_id == message_id]
            if not refused:
                admitted.add((session_id, message_id))
            apply(effects)
        elif action < 0.6 and at_worker:
            request_id = rng.choice(sorted(at_worker))
            character_id = at_worker.pop(request_id)
            apply(router.on_reply(character_id, final(request_id, ChatResponse())))
        elif action < 0.65 and at_worker:
            request_id = rng.choice(sorted(at_worker))
            router.on_progress(at_worker[request_id], request_id)
        elif action < 0.75 and live_sessions:
            session_id = rng.choice(live_sessions)
            mine = sorted(m for s, m in admitted if s == session_id)
            if mine:
                apply(router.cancel(session_id, rng.choice(mine))[1])
        elif action < 0.85:
            apply(router.expire())
        elif action < 0.92:
            character_id = rng.choice(characters)
            at_worker = {r: c for r, c in at_worker.items() if c != character_id}
            apply(router.on_worker_down(character_id, "restarting", None))
        elif live_sessions:
            session_id = rng.choice(live_sessions)
            gone.add(session_id)
            apply(router.session_gone(session_id))
    apply(router.cancel_everything("shutting down"))

    assert all(count == 1 for count in answers.values()), answers
    owed = {key for key in admitted if key[0] not in gone}
    assert owed <= set(answers)
    assert router.live() == 0
