"""What the real-model tests share: greenroom's settings for a llama server, small
characters (one made to talk long), and reading what a character committed."""

from __future__ import annotations

from pathlib import Path

from tests.real_llm.llama_server import MODEL_NAME, LlamaServer
from tests.support.json_peer import Frame, JsonPeer

CHARACTER = "cook"
OTHER_CHARACTER = "doctor"
TALKER = "talker"
"""``cook`` with ``llm.max_tokens`` 1000: its replies go on long after a test has acted on
them (cut, cancelled, silenced)."""
CHARACTERS = {
    CHARACTER: "name: Toby\narchetype: playful\ndescription: A cheerful food-truck cook.\n",
    OTHER_CHARACTER: "name: Nadia\narchetype: serious\ndescription: A calm emergency doctor.\n",
    TALKER: "name: Toby\narchetype: playful\ndescription: A cheerful food-truck cook.\n"
            "llm:\n  max_tokens: 1000\n",
}
"""Characters with short definitions: the bundled ones make a system prompt of about 1100
tokens, which SmolLM2 on 2 busy cores reads for half a minute; these make about 150."""

MAX_TOKENS = 24
"""``GREENROOM_LLM_MAX_TOKENS`` for every test: short replies keep the tier fast."""
LONG_REPLY_PROMPT = "Count from 1 to 500, one number after another, separated by commas."
"""Greedy decoding (temperature 0) makes SmolLM2 count for hundreds of tokens."""
REPLY_TIMEOUT_S = 90.0
"""The longest a test waits for one answer: a 24-token reply takes a second or two, but the
2 cores may be shared with a compiler."""


def greenroom_env(llm: LlamaServer, **settings: str) -> dict[str, str]:
    """greenroom's environment for ``--engine openai`` against ``llm``: short, greedy
    replies, the gateway's limit on one request as long as ``REPLY_TIMEOUT_S``, and the
    server's context size as ``GREENROOM_CONTEXT_TOKENS`` (llama-cpp-python's server does
    not say it); ``settings`` add to or override it."""
    return {"OPENAI_BASE_URL": llm.base_url, "OPENAI_MODEL": MODEL_NAME,
            "GREENROOM_CONTEXT_TOKENS": str(llm.config.n_ctx),
            "GREENROOM_LLM_MAX_TOKENS": str(MAX_TOKENS), "GREENROOM_LLM_TEMPERATURE": "0",
            "GREENROOM_REQUEST_TIMEOUT": str(REPLY_TIMEOUT_S), **settings}


def tier_characters(dest: Path) -> Path:
    """A characters directory with ``CHARACTERS``; returns it."""
    dest.mkdir(parents=True, exist_ok=True)
    for character_id, text in CHARACTERS.items():
        (dest / f"{character_id}.yaml").write_text(text)
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
