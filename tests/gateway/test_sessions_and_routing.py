"""Socket-level behaviour over the in-process pool: sessions, routing, queueing, events."""

from __future__ import annotations

import asyncio
from pathlib import Path

from supervisor.gateway.gateway import Gateway
from tests.gateway.conftest import GatewayFactory, PeerFactory, open_peer, start_held_chat
from tests.gateway.in_process_pool import InProcessPool

SUBSCRIBE_ALL = ["vitals", "turns", "worker_state"]


async def test_ping_is_answered_without_a_character(peer: PeerFactory) -> None:
    async with peer() as client:
        answer = await client.request("ping_request")
    assert answer["message_type"] == "ping_response"
    assert answer["success"] is True


async def test_character_request_before_init_is_not_initialized(peer: PeerFactory) -> None:
    async with peer() as client:
        message_id = await client.send("status_request")
        answer = await client.recv()
    assert answer["error_code"] == "not_initialized"
    assert answer["message_id"] == message_id


async def test_init_attaches_and_the_worker_describes_the_character(peer: PeerFactory) -> None:
    async with peer() as client:
        answer = await client.request("init_request", character_id="alpha")
        status = await client.request("status_request")
    assert answer["message_type"] == "init_response"
    assert answer["character_name"] == "Alpha"
    assert status["message_type"] == "status_response"


async def test_init_of_unknown_character_is_character_not_found(peer: PeerFactory) -> None:
    async with peer() as client:
        answer = await client.request("init_request", character_id="nobody")
    assert answer["error_code"] == "character_not_found"


async def test_path_like_character_id_never_reaches_the_pool(
    peer: PeerFactory, gateway_and_pool: tuple[Gateway, InProcessPool]
) -> None:
    _, pool = gateway_and_pool
    async with peer() as client:
        answer = await client.request("init_request", character_id="../../etc/passwd")
    assert answer["error_code"] == "character_not_found"
    assert pool.ensure_calls == 0


async def test_switching_character_routes_later_requests_to_the_new_one(
    peer: PeerFactory,
) -> None:
    async with peer() as client:
        await client.request("init_request", character_id="alpha")
        await client.request("chat_request", user_message="hi")
        await client.request("init_request", character_id="beta")
        status = await client.request("status_request")
    assert status["character_summary"] == {"turns": 0}


async def test_replies_go_only_to_their_senders_even_with_equal_message_ids(
    peer: PeerFactory,
) -> None:
    async with peer() as one, peer() as two:
        await one.request("init_request", character_id="alpha")
        await two.request("init_request", character_id="alpha")
        await one.send("chat_request", message_id="same", user_message="from one")
        await two.send("status_request", message_id="same")
        first = await one.recv_until(lambda f: f["message_type"] == "chat_response")
        second = await two.recv()
    assert [f["message_type"] for f in first] == ["chat_response"]
    assert second["message_type"] == "status_response"


async def test_streamed_chat_sends_deltas_then_the_final_response(peer: PeerFactory) -> None:
    async with peer() as client:
        await client.request("hello", protocol_version=1)
        await client.request("init_request", character_id="alpha")
        message_id = await client.send("chat_request", user_message="hi", stream=True)
        frames = await client.recv_until(lambda f: f["message_type"] == "chat_response")
    assert [f["message_type"] for f in frames] == ["chat_delta"] * 3 + ["chat_response"]
    assert {f["message_id"] for f in frames} == {message_id}
    assert "".join(f["delta"] for f in frames[:-1]) == frames[-1]["response_text"]


async def test_status_is_answered_while_a_chat_streams_on_the_same_character(
    peer: PeerFactory, gateway_and_pool: tuple[Gateway, InProcessPool]
) -> None:
    _, pool = gateway_and_pool
    async with peer() as client:
        chat_id = await start_held_chat(client, pool, "hi")
        status = await client.request("status_request")
        pool.release_chats()
        chat = await client.recv()
    assert status["message_type"] == "status_response"
    assert (chat["message_type"], chat["message_id"]) == ("chat_response", chat_id)


async def test_turns_of_one_character_reach_the_worker_one_at_a_time_in_order(
    peer: PeerFactory, gateway_and_pool: tuple[Gateway, InProcessPool]
) -> None:
    _, pool = gateway_and_pool
    pool.hold_chats()
    async with peer() as one, peer() as two:
        await one.request("init_request", character_id="alpha")
        await two.request("init_request", character_id="alpha")
        first = await one.send("chat_request", user_message="first")
        await pool.chat_started.wait()
        second = await two.send("chat_request", user_message="second")
        await two.request("ping_request")  # the gateway has handled "second" by now
        chats_sent = [f for _, f in pool.sent if getattr(f, "message", None) and
                      f.message.__struct_config__.tag == "chat_request"]
        assert [f.message.message_id for f in chats_sent] == [first]
        pool.release_chats()
        assert (await one.recv())["message_id"] == first
        assert (await two.recv())["message_id"] == second


async def test_turn_beyond_the_queue_depth_is_busy(
    make_gateway: GatewayFactory,
) -> None:
    gateway, pool = await make_gateway(chat_queue_depth=1)
    async with open_peer(gateway) as client:
        await start_held_chat(client, pool, "active")
        await client.send("chat_request", user_message="queued")
        busy_id = await client.send("chat_request", user_message="too many")
        answer = await client.recv()
        pool.release_chats()
        rest = [await client.recv(), await client.recv()]
    assert (answer["error_code"], answer["message_id"]) == ("busy", busy_id)
    assert [f["message_type"] for f in rest] == ["chat_response", "chat_response"]


async def test_session_request_limit_answers_busy(make_gateway: GatewayFactory) -> None:
    gateway, pool = await make_gateway(session_request_limit=1)
    async with open_peer(gateway) as client:
        await client.request("init_request", character_id="alpha")
        pool.make_silent("alpha")
        await client.send("status_request")
        over = await client.send("status_request")
        answer = await client.recv()
    assert (answer["error_code"], answer["message_id"]) == ("busy", over)


async def test_subscribed_session_sees_the_others_turn_and_vitals_but_not_its_own_turn(
    peer: PeerFactory,
) -> None:
    async with peer() as maker, peer() as watcher, peer() as elsewhere:
        await maker.request("hello", protocol_version=1, subscribe=SUBSCRIBE_ALL,
                            character_id="alpha")
        await watcher.request("hello", protocol_version=1, subscribe=SUBSCRIBE_ALL,
                              character_id="alpha")
        await elsewhere.request("hello", protocol_version=1, subscribe=SUBSCRIBE_ALL,
                                character_id="beta")
        chat_id = await maker.send("chat_request", user_message="hello there")
        maker_frames = await maker.recv_until(lambda f: f["message_type"] == "chat_response")
        watcher_frames = [await watcher.recv(), await watcher.recv()]
        elsewhere_next = await elsewhere.request("ping_request")
    assert [f["message_type"] for f in maker_frames] == ["vitals_event", "chat_response"]
    assert maker_frames[-1]["message_id"] == chat_id
    assert [f["message_type"] for f in watcher_frames] == ["vitals_event", "turn_event"]
    assert watcher_frames[1]["user_message"] == "hello there"
    assert elsewhere_next["message_type"] == "ping_response"


async def test_seed_era_client_sees_only_answers_to_its_own_requests(
    peer: PeerFactory,
) -> None:
    async with peer() as seed, peer() as modern:
        await seed.request("init_request", character_id="alpha")
        await modern.request("hello", protocol_version=1, subscribe=SUBSCRIBE_ALL,
                             character_id="alpha")
        await modern.send("chat_request", user_message="hi", stream=True)
        await modern.recv_until(lambda f: f["message_type"] == "chat_response")
        # Events were fanned out before the chat_response was queued; the seed client's next
        # frame is therefore the answer to its own ping if it got no event.
        nxt = await seed.request("ping_request")
        seed_chat = await seed.request("chat_request", user_message="hello")
    assert nxt["message_type"] == "ping_response"
    assert seed_chat["message_type"] == "chat_response"


async def test_worker_crash_fails_in_flight_keeps_session_and_next_request_works(
    peer: PeerFactory, gateway_and_pool: tuple[Gateway, InProcessPool]
) -> None:
    _, pool = gateway_and_pool
    pool.hold_chats()
    async with peer() as client:
        await client.request("hello", protocol_version=1, subscribe=["worker_state"],
                             character_id="alpha")
        chat_id = await client.send("chat_request", user_message="hi")
        await pool.chat_started.wait()
        pool.crash("alpha")
        frames = [await client.recv() for _ in range(3)]
        pool.release_chats()
        after = await client.request("chat_request", user_message="again")
    crashed = [f for f in frames if f["message_type"] == "error_response"]
    states = [f["state"] for f in frames if f["message_type"] == "worker_state_event"]
    assert crashed[0]["error_code"] == "worker_crashed"
    assert crashed[0]["message_id"] == chat_id
    assert states == ["restarting", "ready"]
    assert after["message_type"] == "chat_response"


async def test_request_while_restarting_is_character_restarting(
    peer: PeerFactory, gateway_and_pool: tuple[Gateway, InProcessPool]
) -> None:
    _, pool = gateway_and_pool
    async with peer() as client:
        await client.request("init_request", character_id="alpha")
        pool.crash("alpha", final_state="restarting")
        answer = await client.request("status_request")
    assert answer["error_code"] == "character_restarting"


async def test_request_without_answer_times_out_with_its_message_id(
    make_gateway: GatewayFactory,
) -> None:
    gateway, pool = await make_gateway(request_timeout_s=0.2)
    async with open_peer(gateway) as client:
        await client.request("init_request", character_id="alpha")
        pool.make_silent("alpha")
        message_id = await client.send("chat_request", user_message="anyone?")
        answer = await client.recv()
        still_there = await client.request("ping_request")
    assert (answer["error_code"], answer["message_id"]) == ("timeout", message_id)
    assert still_there["message_type"] == "ping_response"


async def test_cancel_of_a_queued_turn_answers_cancelled_without_reaching_the_worker(
    peer: PeerFactory, gateway_and_pool: tuple[Gateway, InProcessPool]
) -> None:
    _, pool = gateway_and_pool
    async with peer() as client:
        await start_held_chat(client, pool, "active")
        queued = await client.send("chat_request", user_message="queued")
        cancel_id = await client.send("cancel_request", target_message_id=queued)
        frames = [await client.recv(), await client.recv()]
        pool.release_chats()
        await client.recv()
    by_id = {f["message_id"]: f for f in frames}
    assert by_id[queued]["error_code"] == "cancelled"
    assert by_id[cancel_id]["success"] is True


async def test_cancel_of_a_streaming_chat_is_passed_to_the_worker(
    peer: PeerFactory, gateway_and_pool: tuple[Gateway, InProcessPool]
) -> None:
    _, pool = gateway_and_pool
    async with peer() as client:
        chat_id = await start_held_chat(client, pool, "long story")
        cancel = await client.request("cancel_request", target_message_id=chat_id)
        pool.release_chats()
        final = await client.recv()
    assert cancel["success"] is True
    assert (final["error_code"], final["message_id"]) == ("cancelled", chat_id)


async def test_cancel_of_unknown_request_reports_nothing_matched(peer: PeerFactory) -> None:
    async with peer() as client:
        answer = await client.request("cancel_request", target_message_id="nope")
    assert answer["success"] is False
    assert "nope" in answer["error"]


async def test_characters_request_lists_bundled_characters_without_init(
    peer: PeerFactory,
) -> None:
    async with peer() as client:
        answer = await client.request("characters_request")
    assert answer["message_type"] == "characters_response"
    assert answer["characters"], "the bundled characters directory is listed"
    assert all(c["state"] == "stopped" for c in answer["characters"])


async def test_characters_request_lists_in_pages(peer: PeerFactory) -> None:
    async with peer() as client:
        everything = await client.request("characters_request")
        first = await client.request("characters_request", limit=2)
        rest = await client.request("characters_request", offset=first["next_offset"])
    ids = [c["character_id"] for c in everything["characters"]]
    assert everything["total"] == len(ids) > 2 and everything["next_offset"] is None
    assert [c["character_id"] for c in first["characters"]] == ids[:2]
    assert first["next_offset"] == 2 and first["total"] == len(ids)
    assert [c["character_id"] for c in rest["characters"]] == ids[2:]
    assert rest["next_offset"] is None


async def test_workers_request_counts_attached_sessions(peer: PeerFactory) -> None:
    async with peer() as one, peer() as two:
        await one.request("init_request", character_id="alpha")
        await two.request("init_request", character_id="alpha")
        answer = await one.request("workers_request")
    assert [(w["character_id"], w["sessions"], w["state"]) for w in answer["workers"]] == [
        ("alpha", 2, "ready")
    ]


async def test_hello_with_newer_protocol_version_is_refused(peer: PeerFactory) -> None:
    async with peer() as client:
        answer = await client.request("hello", protocol_version=99)
    assert answer["error_code"] == "unsupported_protocol_version"


async def test_hello_response_names_session_and_capabilities(peer: PeerFactory) -> None:
    async with peer() as client:
        answer = await client.request("hello", protocol_version=1)
    assert answer["session_id"].startswith("s-")
    assert "chat_request" in answer["capabilities"]


async def test_concurrent_sessions_each_get_their_own_answers(peer: PeerFactory) -> None:
    async def one_client(index: int) -> list[str]:
        async with peer() as client:
            await client.request("init_request", character_id=("alpha", "beta")[index % 2])
            return [
                (await client.request("status_request"))["message_type"] for _ in range(5)
            ]

    results = await asyncio.gather(*(one_client(i) for i in range(10)))
    assert all(r == ["status_response"] * 5 for r in results)


async def test_characters_request_lists_a_broken_file_as_failed(
    make_gateway: GatewayFactory, tmp_path: Path,
) -> None:
    """A developer whose file does not load sees it listed ``failed`` (as local mode shows
    it), not missing from the list."""
    (tmp_path / "alpha.yaml").write_text("name: Alpha\narchetype: test\n", encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("- not a mapping\n", encoding="utf-8")
    gateway, _ = await make_gateway(characters_dir=tmp_path)
    async with open_peer(gateway) as client:
        answer = await client.request("characters_request")
    states = {c["character_id"]: c["state"] for c in answer["characters"]}
    assert states == {"alpha": "stopped", "broken": "failed"}
    assert answer["total"] == 2
