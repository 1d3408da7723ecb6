"""Chatting through greenroom with a real llama-cpp-python server (SmolLM2-135M): streaming,
what the client sees while the model reads the prompt, counted usage, cancel, regenerate and
undo, and two characters sharing one server that cuts a stream when another request comes.

Every test starts its own ``greenroom serve --engine openai`` (about a second) against the
session's ``chat_llm``; waits are on events (a delta, an answer, a line of the server's log).
The llama server's proofs come from its own log: uvicorn's access line for each request, and
llama-cpp-python's ``Disconnected from client`` when its event publisher was cancelled.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.real_llm.conftest import StartGreenroom
from tests.real_llm.helpers import (
    CHARACTER,
    LONG_REPLY_PROMPT,
    MAX_TOKENS,
    OTHER_CHARACTER,
    REPLY_TIMEOUT_S,
    TALKER,
    chat_reply,
    status,
    turn_count,
)
from tests.real_llm.llama_server import DISCONNECTED, LlamaServer, request_line
from tests.support.json_peer import attach, open_peer

pytestmark = pytest.mark.timeout(300)

PHASES = ("queued", "reading_prompt", "streaming")

async def test_streamed_deltas_arrive_before_the_reply_and_add_up_to_the_committed_turn(
    greenroom: StartGreenroom, chat_llm: LlamaServer
) -> None:
    server = await greenroom(chat_llm)
    async with open_peer(server.url) as peer:
        await attach(peer, CHARACTER)
        pending = await peer.send_frame("chat_request", stream=True,
                                        user_message="Hello! What do you cook?")
        async with asyncio.timeout(REPLY_TIMEOUT_S):
            await pending.first_delta.wait()
        final_done_at_first_delta = pending.final.done()
        async with asyncio.timeout(REPLY_TIMEOUT_S):
            final = await pending.final
        history = (await status(peer))["conversation_history"]

    assert not final_done_at_first_delta
    assert final["message_type"] == "chat_response", final
    assert len(pending.deltas) > 1, pending.deltas
    assert "".join(pending.deltas) == final["response_text"] != ""
    assert history[-1]["user_message"] == "Hello! What do you cook?"
    assert history[-1]["response"] == final["response_text"]


async def test_generation_status_says_the_prompt_is_being_read_before_the_first_token(
    greenroom: StartGreenroom, chat_llm: LlamaServer
) -> None:
    server = await greenroom(chat_llm)
    async with open_peer(server.url) as peer:
        await attach(peer, CHARACTER)
        pending = await peer.send_frame("chat_request", stream=True,
                                        user_message="What is your favourite dish?")
        async with asyncio.timeout(REPLY_TIMEOUT_S):
            await pending.first_delta.wait()
        phases_by_first_delta = [frame["phase"] for frame in pending.statuses]
        async with asyncio.timeout(REPLY_TIMEOUT_S):
            final = await pending.final

    assert final["message_type"] == "chat_response", final
    phases = [frame["phase"] for frame in pending.statuses]
    assert set(phases) <= set(PHASES), pending.statuses
    assert phases == sorted(phases, key=PHASES.index), "phases only move forward"
    assert "reading_prompt" in phases_by_first_delta, pending.statuses


async def test_usage_is_counted_and_marked_so_when_the_server_reports_none(
    greenroom: StartGreenroom, chat_llm: LlamaServer
) -> None:
    server = await greenroom(chat_llm)
    async with open_peer(server.url) as peer:
        await attach(peer, CHARACTER)
        reply = await chat_reply(peer, "Tell me a long story about your food truck.")

    info = reply["generation_info"]
    assert info["backend"] == "openai", info
    assert info["usage_source"] == "counted", info
    assert info["finish_reason"] == "length", info
    # llama-cpp-python streams one token per chunk, so a reply cut at the limit counts it.
    assert info["completion_tokens"] == MAX_TOKENS, info


async def test_cancel_closes_the_http_stream_and_the_server_stops_generating(
    greenroom: StartGreenroom, chat_llm: LlamaServer
) -> None:
    server = await greenroom(chat_llm, [TALKER])
    async with open_peer(server.url) as peer:
        await attach(peer, TALKER)
        before = await turn_count(peer)
        mark = len(chat_llm.lines)
        pending = await peer.send_frame("chat_request", stream=True,
                                        user_message=LONG_REPLY_PROMPT)
        async with asyncio.timeout(REPLY_TIMEOUT_S):
            await pending.first_delta.wait()
        # Frozen, the server can neither finish the reply nor see the cancel before greenroom
        # has answered it: the answer cannot come from the server ending the stream.
        chat_llm.suspend()
        try:
            cancel = await peer.request("cancel_request", target_message_id=pending.message_id)
            async with asyncio.timeout(REPLY_TIMEOUT_S):
                cancelled = await pending.final
        finally:
            chat_llm.resume()
        disconnected = await chat_llm.wait_for_line_async(
            lambda line: DISCONNECTED in line, REPLY_TIMEOUT_S, start=mark)
        after = await turn_count(peer)
        until_then = chat_llm.lines[mark:chat_llm.lines.index(disconnected, mark)]
        follow_up = await chat_reply(peer, "Hi again!")

    assert cancel["success"] is True, cancel
    assert cancelled["error_code"] == "cancelled", cancelled
    assert after == before, "a cancelled chat commits nothing"
    # The server saw its stream closed by the client, so it stopped generating: no other
    # request came before the disconnect, which might have ended the stream instead.
    assert [request_line(line) for line in until_then if request_line(line)] == [
        "POST /v1/chat/completions"], until_then
    assert follow_up["response_text"]


async def test_regenerate_replaces_the_reply_and_undo_removes_the_turn(
    greenroom: StartGreenroom, chat_llm: LlamaServer
) -> None:
    server = await greenroom(chat_llm)
    async with open_peer(server.url) as peer:
        await attach(peer, CHARACTER)
        first = await chat_reply(peer, "Name a dessert you like.")
        count_after_chat = await turn_count(peer)
        pending = await peer.send_frame("regenerate_request", stream=True)
        async with asyncio.timeout(REPLY_TIMEOUT_S):
            regenerated = await pending.final
        history = (await status(peer))["conversation_history"]
        alternatives = await peer.request("alternatives_request")
        undone = await peer.request("undo_request")
        after_undo = await status(peer)

    assert regenerated["message_type"] == "chat_response", regenerated
    assert "".join(pending.deltas) == regenerated["response_text"] != ""
    assert regenerated["response_metadata"]["regenerated"] is True, regenerated
    assert history[-1]["response"] == regenerated["response_text"]
    texts = [(a["response_text"], a["current"]) for a in alternatives["alternatives"]]
    assert texts == [(first["response_text"], False), (regenerated["response_text"], True)]
    assert undone["success"] is True, undone
    assert after_undo["character_summary"]["turn_count"] == count_after_chat - 1
    assert all(turn["user_message"] != "Name a dessert you like."
               for turn in after_undo["conversation_history"]), after_undo


async def test_a_reply_cut_by_another_characters_request_is_incomplete_and_not_committed(
    greenroom: StartGreenroom, chat_llm: LlamaServer
) -> None:
    """llama-cpp-python (``interrupt_requests``, on by default) ends the stream in progress
    with a bare ``[DONE]`` when another request arrives: greenroom must not take that for
    the end of the reply."""
    server = await greenroom(chat_llm, [TALKER, OTHER_CHARACTER])
    async with open_peer(server.url) as talker, open_peer(server.url) as other:
        await attach(talker, TALKER)
        await attach(other, OTHER_CHARACTER)
        talker_turns = await turn_count(talker)
        other_turns = await turn_count(other)
        long_chat = await talker.send_frame("chat_request", stream=True,
                                            user_message=LONG_REPLY_PROMPT)
        async with asyncio.timeout(REPLY_TIMEOUT_S):
            await long_chat.first_delta.wait()
        short = await chat_reply(other, "Good morning, doctor.")
        async with asyncio.timeout(REPLY_TIMEOUT_S):
            cut = await long_chat.final
        talker_history = (await status(talker))["conversation_history"]
        talker_after, other_after = await turn_count(talker), await turn_count(other)

    assert cut["message_type"] == "error_response", cut
    assert cut["error_code"] == "llm_incomplete", cut
    assert cut["details"]["partial_text"] == "".join(long_chat.deltas) != "", cut
    assert TALKER in cut["error"], "the error names the character"
    assert talker_after == talker_turns, "nothing of the cut reply is committed"
    assert all(turn["user_message"] != LONG_REPLY_PROMPT for turn in talker_history)
    assert short["response_text"]
    assert other_after == other_turns + 1


async def test_a_character_starting_up_does_not_cut_another_characters_reply(
    greenroom: StartGreenroom, chat_llm: LlamaServer
) -> None:
    """A worker's start-up health check reaches the server while another character's reply
    streams from it, and must not be a request that ends that stream: the reply streams on
    until it is cancelled."""
    server = await greenroom(chat_llm, [TALKER])
    async with open_peer(server.url) as talker:
        await attach(talker, TALKER)
        # The talker's own start-up check runs beside its start: let it pass first.
        await server.wait_for_record(lambda r: r.get("event") == "llm_check_passed"
                                     and r.get("character") == TALKER, REPLY_TIMEOUT_S)
        records_mark = len(server.records)
        long_chat = await talker.send_frame("chat_request", stream=True,
                                            user_message=LONG_REPLY_PROMPT)
        async with asyncio.timeout(REPLY_TIMEOUT_S):
            await long_chat.first_delta.wait()
        async with open_peer(server.url) as other:
            await attach(other, OTHER_CHARACTER)  # not preloaded: its worker starts now
            await server.wait_for_record(
                lambda r: r.get("event") == "llm_check_passed"
                and r.get("character") == OTHER_CHARACTER, REPLY_TIMEOUT_S, start=records_mark)
            # The check was answered by the server while the reply was still streaming.
            # (llama-cpp-python's access log is no witness: in CI it wrote the check's line,
            # like the stream's own, only once the stream had ended.)
            assert not long_chat.final.done(), "the reply ended before the check was made"
            asked = [r for r in server.records[records_mark:]
                     if r.get("character") == OTHER_CHARACTER and r.get("logger") == "httpx"
                     and str(r.get("event", "")).startswith("HTTP Request: GET")]
            assert asked, "the starting character's check never reached the server"
        await talker.request("cancel_request", target_message_id=long_chat.message_id)
        async with asyncio.timeout(REPLY_TIMEOUT_S):
            ended = await long_chat.final

    assert ended["error_code"] == "cancelled", f"the reply ended before the cancel: {ended}"


async def test_with_model_memory_one_characters_notes_cut_no_reply_of_another(
    greenroom: StartGreenroom, chat_llm: LlamaServer
) -> None:
    """Model memory on for two characters on one interrupting server: the doctor's notes
    (an extraction, then a reflection) are streaming when the cook's reply arrives. The
    notes are the ones cut; they are asked again only once the cook's reply has ended, so
    the reply streams whole."""
    server = await greenroom(chat_llm, [CHARACTER, OTHER_CHARACTER], GREENROOM_MODEL_MEMORY="on",
                             GREENROOM_MODEL_MEMORY_REFLECT_EVERY="1")
    async with open_peer(server.url) as cook, open_peer(server.url) as doctor:
        await attach(cook, CHARACTER)
        await attach(doctor, OTHER_CHARACTER)
        await chat_reply(doctor, "My sister Ophelia moved to Lisbon last spring.")
        mark = len(chat_llm.lines)
        await chat_llm.wait_for_line_async(  # the doctor's notes reached the server
            lambda line: request_line(line) == "POST /v1/chat/completions", REPLY_TIMEOUT_S,
            start=mark)
        reply = await chat_reply(cook, LONG_REPLY_PROMPT)
        outcome = await server.wait_for_record(
            lambda r: r.get("character") == OTHER_CHARACTER and r.get("event") in (
                "model_memories_written", "model_memories_dropped",
                "memory_extraction_failed"), REPLY_TIMEOUT_S * 2)
    cut = [r for r in server.records if r.get("event") == "llm_failed"]
    assert reply["response_text"] and reply["generation_info"]["finish_reason"] != "incomplete"
    assert cut == [], cut
    assert outcome["event"] == "model_memories_written", outcome
