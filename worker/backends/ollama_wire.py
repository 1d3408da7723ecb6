"""Ollama's native chat wire format, as pure functions: request body in, stream lines out.

``POST /api/chat`` with ``stream: true`` answers ``application/x-ndjson``: one JSON object per
line, ``{"message": {"content": ...}, "done": false}`` per token, then one ``"done": true``
object carrying ``done_reason`` and usage counters (durations in nanoseconds). A line
``{"error": "..."}`` reports a failure *inside a 200 response*: the status line was already
sent when generation failed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from worker.backends.base import (
    ChatMessage,
    FinishReason,
    GenerationDone,
    GenerationOptions,
    LLMError,
    LLMUnavailable,
    TextDelta,
)

NANOSECONDS = 1_000_000_000


def chat_payload(messages: Sequence[ChatMessage], options: GenerationOptions) -> dict[str, Any]:
    """The JSON body of ``POST /api/chat``. ``num_ctx`` is sent whenever it is known (the
    defaults always know it) because Ollama's own default silently truncates long prompts."""
    if options.model is None:
        raise ValueError("an Ollama request needs a model name")
    model_options: dict[str, Any] = {}
    if options.temperature is not None:
        model_options["temperature"] = options.temperature
    if options.top_p is not None:
        model_options["top_p"] = options.top_p
    if options.num_ctx is not None:
        model_options["num_ctx"] = options.num_ctx
    if options.max_tokens is not None:
        model_options["num_predict"] = options.max_tokens
    if options.stop:
        model_options["stop"] = list(options.stop)
    payload: dict[str, Any] = {
        "model": options.model,
        "messages": [{"role": m.role, "content": m.content} for m in messages],
        "stream": True,
        "options": model_options,
    }
    if options.keep_alive is not None:
        payload["keep_alive"] = options.keep_alive
    return payload


def decode_chat_line(line: str, *, requested_model: str) -> TextDelta | GenerationDone | None:
    """One NDJSON line → a delta, the final ``GenerationDone``, or ``None`` (nothing to say:
    an empty content chunk, e.g. while a thinking model thinks).

    Raises ``LLMError`` for an ``{"error": ...}`` line or a line that is not a JSON object.
    """
    try:
        chunk: Any = json.loads(line)
    except ValueError as exc:
        raise LLMError(f"Ollama sent a line that is not JSON: {line[:200]!r}") from exc
    if not isinstance(chunk, dict):
        raise LLMError(f"Ollama sent a line that is not a JSON object: {line[:200]!r}")
    if "error" in chunk:
        raise LLMError(f"Ollama reported an error mid-stream: {chunk['error']}")
    message = chunk.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if chunk.get("done"):
        # The final object normally has empty content, but nothing forbids text in it.
        return _done(chunk, requested_model, trailing_text=content or "")
    if isinstance(content, str) and content:
        return TextDelta(content)
    return None


def _done(chunk: dict[str, Any], requested_model: str, trailing_text: str) -> GenerationDone:
    finish: FinishReason = "length" if chunk.get("done_reason") == "length" else "stop"
    prompt_tokens = _int(chunk.get("prompt_eval_count"))
    completion_tokens = _int(chunk.get("eval_count"))
    total_ns = _int(chunk.get("total_duration"))
    eval_ns = _int(chunk.get("eval_duration"))
    tokens_per_s = None
    if completion_tokens is not None and eval_ns:
        tokens_per_s = completion_tokens / (eval_ns / NANOSECONDS)
    extra: dict[str, float | int | str] = {}
    for key in ("load_duration", "prompt_eval_duration", "eval_duration"):
        value = _int(chunk.get(key))
        if value is not None:
            extra[key.removesuffix("_duration") + "_duration_s"] = value / NANOSECONDS
    if isinstance(chunk.get("done_reason"), str):
        extra["done_reason"] = chunk["done_reason"]
    if trailing_text:
        extra["trailing_text"] = trailing_text
    return GenerationDone(
        backend="ollama",
        model=str(chunk.get("model") or requested_model),
        finish_reason=finish,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        duration_s=None if total_ns is None else total_ns / NANOSECONDS,
        tokens_per_s=tokens_per_s,
        extra=extra,
    )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def model_tag_matches(wanted: str, available: str) -> bool:
    """``llama3.2`` and ``llama3.2:latest`` name the same model; other tags must match."""
    return _with_tag(wanted) == _with_tag(available)


def _with_tag(name: str) -> str:
    # A ':' before the last '/' belongs to a registry host:port, not to the tag.
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else name + ":latest"


def installed_models(tags_body: Any) -> list[str]:
    """Model names from a ``GET /api/tags`` answer (``{"models": [{"name": ...}, ...]}``)."""
    if not isinstance(tags_body, dict) or not isinstance(tags_body.get("models"), list):
        raise LLMError(f"Ollama's /api/tags answer has no model list: {str(tags_body)[:200]}")
    names: list[str] = []
    for entry in tags_body["models"]:
        if isinstance(entry, dict):
            for key in ("name", "model"):
                if isinstance(entry.get(key), str):
                    names.append(entry[key])
    return names


def model_missing(model: str, base_url: str, detail: str = "") -> LLMUnavailable:
    suffix = f" ({detail})" if detail else ""
    return LLMUnavailable(
        f"Ollama at {base_url} does not have the model {model!r}{suffix}; run"
        f" `ollama pull {model}`, or name an installed model in OLLAMA_MODEL or the"
        " character's llm.model",
    )


def is_model_not_found(status: int, detail: str) -> bool:
    """Ollama answers 404 ``model "x" not found, try pulling it first`` for a missing model."""
    return status == 404 and "not found" in detail.lower()
