"""What the real-model tests share: greenroom's settings for a llama server, characters
made to talk long, and reading what a character committed."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.real_llm.llama_server import MODEL_NAME, LlamaServer
from tests.support.json_peer import Frame, JsonPeer
from tests.support.paths import BUNDLED_CHARACTERS

CHARACTER = "m-playful"
OTHER_CHARACTER = "f-serious"
TALKER = "talker"
"""A copy of ``m-playful`` with ``llm.max_tokens`` 1000: its replies go on long after a test
has acted on them (cut, cancelled, silenced); see ``with_talker``."""

MAX_TOKENS = 24
"""``GREENROOM_LLM_MAX_TOKENS`` for every test: short replies keep the tier fast."""
TALKER_MAX_TOKENS = 1000
LONG_REPLY_PROMPT = "Count from 1 to 500, one number after another, separated by commas."
"""Greedy decoding (temperature 0) makes SmolLM2 count for hundreds of tokens."""
REPLY_TIMEOUT_S = 90.0
"""The longest a test waits for one answer: a 24-token reply takes a second or two, but the
2 cores may be shared with a compiler."""


def greenroom_env(llm: LlamaServer, **settings: str) -> dict[str, str]:
    """greenroom's environment for ``--engine openai`` against ``llm``: short, greedy
    replies; ``settings`` add to or override it."""
    return {"OPENAI_BASE_URL": llm.base_url, "OPENAI_MODEL": MODEL_NAME,
            "GREENROOM_LLM_MAX_TOKENS": str(MAX_TOKENS), "GREENROOM_LLM_TEMPERATURE": "0",
            **settings}


def with_talker(dest: Path) -> Path:
    """A characters directory with the bundled ``CHARACTER`` and ``OTHER_CHARACTER`` and
    ``TALKER``; returns it."""
    dest.mkdir(parents=True, exist_ok=True)
    for character_id in (CHARACTER, OTHER_CHARACTER):
        shutil.copyfile(BUNDLED_CHARACTERS / f"{character_id}.yaml", dest / f"{character_id}.yaml")
    text = (BUNDLED_CHARACTERS / f"{CHARACTER}.yaml").read_text()
    assert "\nllm:" not in text, "the template already has an llm section"
    talker = f"{text.rstrip()}\nllm:\n  max_tokens: {TALKER_MAX_TOKENS}\n"
    (dest / f"{TALKER}.yaml").write_text(talker)
    return dest


async def status(peer: JsonPeer) -> Frame:
    answer = await peer.request("status_request", include_history=True)
    assert answer["message_type"] == "status_response", answer
    return answer


async def turn_count(peer: JsonPeer) -> int:
    count: int = (await status(peer))["character_summary"]["turn_count"]
    return count


async def chat(peer: JsonPeer, text: str, **fields: object) -> Frame:
    """One chat's final answer (whatever it is)."""
    return await peer.request("chat_request", timeout_s=REPLY_TIMEOUT_S, user_message=text,
                              **fields)


async def chat_reply(peer: JsonPeer, text: str, **fields: object) -> Frame:
    """One chat that must succeed; returns its ``chat_response``."""
    answer = await chat(peer, text, **fields)
    assert answer["message_type"] == "chat_response", answer
    return answer


def long_message(words: int, *, seed: str) -> str:
    """A message of about ``words`` distinct words (distinct per ``seed``, so no prompt cache
    on the server holds it)."""
    return " ".join(f"{seed}{index}" for index in range(words))
