"""Recognise a server's "the prompt does not fit the context window" error, as a pure function.

The servers say it differently (all HTTP 400, except where noted):

* llama.cpp's ``llama-server``: ``{"error": {"type": "exceed_context_size_error", "message":
  "request (1131 tokens) exceeds the available context size (1024 tokens), try increasing
  it", "n_prompt_tokens": 1131, "n_ctx": 1024}}`` (older builds: the message without sizes);
* llama-cpp-python's server: ``Requested tokens (1131) exceed context window of 1024``, or,
  rewritten by its error formatter (code ``context_length_exceeded``), ``This model's maximum
  context length is 1024 tokens. However, you requested 1131 tokens (1131 in the messages, 0
  in the completion)``;
* Ollama: ``the input length exceeds the context length`` (it usually truncates instead);
* vLLM / OpenAI: ``This model's maximum context length is …`` as above.
"""

from __future__ import annotations

import json
import re
from typing import Any

from worker.backends.base import ContextOverflow

_SIZED: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"request \((\d+) tokens\) exceeds the available context size \((\d+) tokens"),
     "prompt,context"),
    (re.compile(r"requested tokens \((\d+)\) exceed context window of (\d+)"), "prompt,context"),
    (re.compile(r"maximum context length is (\d+) tokens.*?you requested (\d+) tokens"
                r"(?: \((\d+) in the messages)?"), "context,requested,prompt"),
)
_MARKERS = ("exceed_context_size_error", "context_length_exceeded",
            "exceeds the available context size", "exceed context window",
            "maximum context length", "exceeds the context length",
            "exceeds maximum context length")

RAISE_CONTEXT_HINT = (
    "start the server with a larger context (llama-server `-c N`, llama-cpp-python `--n_ctx N`;"
    " for Ollama raise GREENROOM_LLM_NUM_CTX or the character's llm.num_ctx), or make the"
    " prompt shorter (set GREENROOM_CONTEXT_TOKENS to the server's window when it does not"
    " report it, lower GREENROOM_PROMPT_TOKEN_BUDGET, or GREENROOM_LLM_MAX_TOKENS where the"
    " server counts the reply against the window)"
)


def context_overflow(detail: str, body: str = "", *, server: str) -> ContextOverflow | None:
    """The ``ContextOverflow`` that ``detail`` (the server's message) and ``body`` (its raw
    error body, when there is one) describe, or ``None`` when they describe something else.
    ``server`` names the server in the message (``the OpenAI-compatible server at …``)."""
    text = f"{detail}\n{body}".lower()
    if not any(marker in text for marker in _MARKERS):
        return None
    prompt, context = _sizes(text, body)
    details: dict[str, Any] = {}
    if prompt is not None:
        details["prompt_tokens"] = prompt
    if context is not None:
        details["context_tokens"] = context
    sizes = ""
    if prompt is not None and context is not None:
        sizes = f" ({prompt} tokens, the window holds {context})"
    elif context is not None:
        sizes = f" (the window holds {context} tokens)"
    return ContextOverflow(
        f"the prompt does not fit the context window of {server}{sizes}: {detail}."
        f" To fix it, {RAISE_CONTEXT_HINT}",
        details=details,
    )


def _sizes(text: str, body: str) -> tuple[int | None, int | None]:
    fields = _json_error_fields(body)
    prompt, context = fields.get("n_prompt_tokens"), fields.get("n_ctx")
    for pattern, order in _SIZED:
        found = pattern.search(text)
        if found is None:
            continue
        named = dict(zip(order.split(","), found.groups(), strict=False))
        context = context or _to_int(named.get("context"))
        prompt = prompt or _to_int(named.get("prompt")) or _to_int(named.get("requested"))
        break
    return prompt, context


def _json_error_fields(body: str) -> dict[str, int]:
    try:
        decoded: Any = json.loads(body) if body else None
    except ValueError:
        return {}
    error = decoded.get("error") if isinstance(decoded, dict) else None
    if not isinstance(error, dict):
        return {}
    return {key: value for key, value in error.items()
            if key in ("n_prompt_tokens", "n_ctx") and isinstance(value, int)
            and not isinstance(value, bool)}


def _to_int(value: str | None) -> int | None:
    return int(value) if value else None
