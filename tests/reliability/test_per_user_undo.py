"""Undo and regenerate through a real supervisor never touch another user's turns.

Three sessions on one character: alice and bob name themselves in ``hello.user``; the third is
a seed-era client (``init_request`` only), whose user is ``"user"``. Each takes back only
their own last turn — also after another user spoke (then the shared vitals stay).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest

from tests.support.json_peer import Frame, JsonPeer, attach, open_peer
from tests.support.running_server import Launch

CHARACTER = "m-playful"

pytestmark = [pytest.mark.process, pytest.mark.slow, pytest.mark.timeout(120)]


@asynccontextmanager
async def three_sessions(url: str) -> AsyncIterator[tuple[JsonPeer, JsonPeer, JsonPeer]]:
    """alice and bob (``hello`` with their user), and a seed-era session (no hello)."""
    async with AsyncExitStack() as stack:
        alice, bob, seed = [await stack.enter_async_context(open_peer(url)) for _ in range(3)]
        for peer, user in ((alice, "alice"), (bob, "bob")):
            answer = await peer.request("hello", protocol_version=1, user=user,
                                        character_id=CHARACTER)
            assert answer["message_type"] == "hello_response", answer
        await attach(seed, CHARACTER)
        yield alice, bob, seed


async def history(peer: JsonPeer) -> list[tuple[str, str, str]]:
    status = await peer.request("status_request", include_history=True)
    return [(t["user"], t["user_message"], t["response"])
            for t in status["conversation_history"]]


def code(frame: Frame) -> Any:
    return frame.get("error_code", frame["message_type"])


async def content(peer: JsonPeer) -> dict[str, Any]:
    """The character's live content (state, turns, relationships, memories), exactly."""
    document: dict[str, Any] = (await peer.request("export_request"))["document"]["content"]
    return document


async def test_undo_and_regenerate_act_only_on_the_asking_users_own_last_turn(
        launch: Launch) -> None:
    server = await launch([CHARACTER])
    async with three_sessions(server.url) as (alice, bob, seed):
        await alice.request("chat_request", user_message="Hello there!")
        await alice.request("chat_request", user_message="My dog is called Biscuit.")
        alices = await history(bob)
        refused = [
            await bob.request("undo_request"),
            await seed.request("undo_request"),
            await bob.request("regenerate_request"),
            await bob.request("select_alternative_request", index=0),
        ]
        bobs_alternatives = await bob.request("alternatives_request")
        kept = await history(bob)
        undone_by_alice = await alice.request("undo_request")
        after_alice = await history(bob)
        await bob.request("chat_request", user_message="You are wonderful!")
        before = await content(bob)
        undone_in_thread = await alice.request("undo_request")
        after = await content(bob)
        logged = await server.wait_for_record(
            lambda r: r.get("event") == "turn_undone" and r.get("vitals_restored") is False)
        seeds_again = await seed.request("undo_request")
        undone_by_bob = await bob.request("undo_request")
        empty = await history(bob)
    assert [u for u, _, _ in alices] == ["alice", "alice"]
    assert [code(f) for f in refused] == ["nothing_to_undo"] * 4
    assert "'bob'" in refused[0]["error"] and "'user'" in refused[1]["error"]
    assert bobs_alternatives["alternatives"] == []
    assert kept == alices
    assert code(undone_by_alice) == "undo_response" and undone_by_alice["vitals_restored"]
    assert after_alice == alices[:1]
    # alice's first turn has bob's after it: it leaves her thread, the vitals stay.
    assert code(undone_in_thread) == "undo_response", undone_in_thread
    assert undone_in_thread["vitals_restored"] is False
    assert "'bob'" in undone_in_thread["reason"]
    assert [t["user"] for t in before["turns"]] == ["alice", "bob"]
    assert after["turns"] == before["turns"][1:]
    assert after["state"] == before["state"]
    assert [r["user"] for r in after["relationships"]] == ["bob"]  # alice had none before
    assert [r for r in before["relationships"] if r["user"] == "bob"] == after["relationships"]
    assert after["memories"] == [m for m in before["memories"] if m["user"] == "bob"]
    assert (logged["user"], logged["turn_index"]) == ("alice", 1)
    assert code(seeds_again) == "nothing_to_undo"
    assert code(undone_by_bob) == "undo_response" and undone_by_bob["vitals_restored"]
    assert empty == []


async def test_an_undo_queued_behind_another_users_streaming_chat_never_removes_it(
        launch: Launch) -> None:
    server = await launch([CHARACTER], env={"GREENROOM_SCRIPTED_WORD_DELAY": "0.02"})
    async with three_sessions(server.url) as (alice, bob, seed):
        chat = await alice.send_frame("chat_request", user_message="Tell me a long story.",
                                      stream=True)
        await chat.first_delta.wait()  # alice's chat is the character's active turn
        bobs_undo = await bob.send_frame("undo_request")
        seeds_regenerate = await seed.send_frame("regenerate_request")
        reply = await chat.final
        answers = [await bobs_undo.final, await seeds_regenerate.final]
        turns = await history(bob)
    assert reply["message_type"] == "chat_response"
    assert [code(f) for f in answers] == ["nothing_to_undo", "nothing_to_undo"]
    assert turns == [("alice", "Tell me a long story.", reply["response_text"])]
