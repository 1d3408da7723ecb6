"""Two people talking to one character through the real supervisor and worker process:
one body, one conversation each. Each user's prompt holds only their own exchanges and
memories; ``status``/``export`` can keep one user's thread; a seed-era client (no
``hello``) keeps its single ``"user"`` thread."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.gateway.conftest import Peer, open_peer
from tests.gateway.test_gateway_with_real_workers import serving

CHARACTER = "m-playful"

pytestmark = [pytest.mark.process, pytest.mark.timeout(120)]


async def hello_as(peer: Peer, user: str) -> None:
    answer = await peer.request("hello", protocol_version=1, user=user,
                                character_id=CHARACTER)
    assert answer["message_type"] == "hello_response", answer


async def say(peer: Peer, message: str) -> dict[str, Any]:
    answer = await peer.request("chat_request", user_message=message)
    assert answer["message_type"] == "chat_response", answer
    return answer


def prompt_text(prompt: dict[str, Any]) -> str:
    assert prompt["message_type"] == "prompt_response", prompt
    return "\n".join(m["content"] for m in prompt["messages"])


async def test_two_users_each_get_their_own_thread_over_one_body(tmp_path: Path) -> None:
    async with serving(tmp_path) as (gateway, _), open_peer(gateway) as sam, \
            open_peer(gateway) as bob, open_peer(gateway) as seed:
        await hello_as(sam, "sam")
        await hello_as(bob, "bob")
        await say(sam, "My dog is called Biscuit.")
        await say(bob, "You are a useless idiot.")
        await say(sam, "Do you remember my dog Biscuit?")
        last = await say(bob, "Tell me about the dog Biscuit.")
        assert await seed.request("init_request", character_id=CHARACTER)
        await say(seed, "Hello from an old client.")
        sams_prompt = prompt_text(await sam.request("prompt_request"))
        bobs_prompt = prompt_text(await bob.request("prompt_request"))
        seed_prompt = prompt_text(await seed.request("prompt_request"))
        sams_status = await sam.request("status_request", include_history=True,
                                        history_user="sam")
        everyone = await seed.request("status_request", include_history=True)
        bobs_export = await bob.request("export_request", user="bob")
    assert last["response_metadata"]["turn_index"] == 4  # one body: the turns count for all
    assert "useless idiot" not in sams_prompt
    assert "Sam's dog is called Biscuit" in sams_prompt
    assert "My dog is called Biscuit." not in bobs_prompt
    assert "Sam's dog" not in bobs_prompt
    assert "Hello from an old client." in seed_prompt
    assert "Biscuit" not in seed_prompt and "idiot" not in seed_prompt
    assert [t["user"] for t in sams_status["conversation_history"]] == ["sam", "sam"]
    assert sams_status["history_total"] == 2
    assert [t["user"] for t in everyone["conversation_history"]] == [
        "sam", "bob", "sam", "bob", "user"]
    document = bobs_export["document"]
    assert document["user"] == "bob"
    assert [t["user"] for t in document["content"]["turns"]] == ["bob", "bob"]
    assert all(m["user"] == "bob" for m in document["content"]["memories"])
