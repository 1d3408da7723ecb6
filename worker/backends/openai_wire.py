"""The OpenAI chat-completions streaming format, as pure functions and a small decoder.

``POST {base}/chat/completions`` with ``stream: true`` answers Server-Sent Events: each
``data:`` event is a ``chat.completion.chunk`` whose ``choices[0].delta.content`` carries text
and whose ``finish_reason`` is set on the last content chunk; with ``stream_options:
{include_usage: true}`` a last chunk with empty ``choices`` carries ``usage``; ``data: [DONE]``
ends the stream. Servers differ in the details, all handled here: llama.cpp puts usage (and
``timings``) in the finishing chunk and reports failures as ``error:`` lines; vLLM sends
``data: {"error": {...}}``; some servers omit ``[DONE]``.
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
    TextDelta,
    UsageSource,
)
from worker.backends.sse import SSEEvent

DONE_MARKER = "[DONE]"


def chat_payload(messages: Sequence[ChatMessage], options: GenerationOptions) -> dict[str, Any]:
    """The JSON body of ``POST /chat/completions``.

    ``num_ctx`` and ``keep_alive`` are not sent: OpenAI-compatible servers fix the context
    size when they start (llama.cpp ``-c``, vLLM ``--max-model-len``) and some reject
    unknown fields.
    """
    if options.model is None:
        raise ValueError("an OpenAI-compatible request needs a model name")
    payload: dict[str, Any] = {
        "model": options.model,
        "messages": [{"role": m.role, "content": m.content} for m in messages],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if options.temperature is not None:
        payload["temperature"] = options.temperature
    if options.top_p is not None:
        payload["top_p"] = options.top_p
    if options.max_tokens is not None:
        payload["max_tokens"] = options.max_tokens
    if options.stop:
        payload["stop"] = list(options.stop)
    return payload


class ChatStreamDecoder:
    """Consumes SSE events of one chat stream; remembers what the final report needs.

    ``feed`` returns the text delta an event carries (or ``None``) and raises ``LLMError`` for
    an error event or a malformed chunk. ``complete`` tells whether the stream said it was
    finished (a ``finish_reason``; ``[DONE]`` alone only ends the stream).
    """

    def __init__(self, requested_model: str) -> None:
        self.model = requested_model
        self.finish_reason: str | None = None
        self.saw_done_marker = False
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
        self.server_tokens_per_s: float | None = None

    @property
    def complete(self) -> bool:
        """The server said the reply is finished: a ``finish_reason`` came. A bare ``[DONE]``
        does not count (llama-cpp-python ends an interrupted reply with one)."""
        return self.finish_reason is not None

    def feed(self, event: SSEEvent) -> TextDelta | None:
        if event.data.strip() == DONE_MARKER:
            self.saw_done_marker = True
            return None
        chunk = _decode(event.data)
        if event.event == "error" or "error" in chunk:
            raise LLMError(
                f"the OpenAI-compatible server reported an error mid-stream: {_error_text(chunk)}"
            )
        if isinstance(chunk.get("model"), str) and chunk["model"]:
            self.model = chunk["model"]
        self._take_usage(chunk)
        text = ""
        choices = chunk.get("choices")
        if isinstance(choices, list) and choices:
            choice = choices[0] if isinstance(choices[0], dict) else {}
            delta = choice.get("delta")
            if isinstance(delta, dict) and isinstance(delta.get("content"), str):
                text = delta["content"]
            if isinstance(choice.get("finish_reason"), str):
                self.finish_reason = choice["finish_reason"]
        return TextDelta(text) if text else None

    def _take_usage(self, chunk: dict[str, Any]) -> None:
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.prompt_tokens = _int(usage.get("prompt_tokens"), self.prompt_tokens)
            self.completion_tokens = _int(usage.get("completion_tokens"), self.completion_tokens)
        timings = chunk.get("timings")  # llama.cpp's server-side measurement
        if isinstance(timings, dict) and isinstance(timings.get("predicted_per_second"),
                                                    int | float):
            self.server_tokens_per_s = float(timings["predicted_per_second"])

    def done(self, *, duration_s: float, generation_s: float | None,
             counted_tokens: int) -> GenerationDone:
        """The final report. ``duration_s``: request to end, measured by the client;
        ``generation_s``: first token to end (``None`` when no token came), used for tokens/s
        when the server did not measure it; ``counted_tokens``: content deltas received,
        reported as ``completion_tokens`` (``usage_source: counted``) when the server sent no
        usage (one that ignores ``stream_options.include_usage``)."""
        finish: FinishReason = "length" if self.finish_reason == "length" else "stop"
        completion_tokens = self.completion_tokens
        usage_source: UsageSource = "reported"
        if completion_tokens is None:
            completion_tokens, usage_source = counted_tokens, "counted"
        tokens_per_s = self.server_tokens_per_s
        if tokens_per_s is None and completion_tokens and generation_s:
            tokens_per_s = completion_tokens / generation_s
        extra: dict[str, float | int | str] = {}
        if self.finish_reason is not None:
            extra["finish_reason"] = self.finish_reason
        return GenerationDone(
            backend="openai",
            model=self.model,
            finish_reason=finish,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=completion_tokens,
            duration_s=duration_s,
            tokens_per_s=tokens_per_s,
            usage_source=usage_source,
            extra=extra,
        )


def _decode(data: str) -> dict[str, Any]:
    try:
        chunk: Any = json.loads(data)
    except ValueError as exc:
        raise LLMError(f"the server sent an event that is not JSON: {data[:200]!r}") from exc
    if not isinstance(chunk, dict):
        raise LLMError(f"the server sent an event that is not a JSON object: {data[:200]!r}")
    return chunk


def _error_text(chunk: dict[str, Any]) -> str:
    error = chunk.get("error", chunk)
    if isinstance(error, dict):
        return str(error.get("message", error))
    return str(error)


def _int(value: Any, fallback: int | None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else fallback


def model_ids(models_body: Any) -> list[str] | None:
    """Model ids from ``GET /models`` (``{"data": [{"id": ...}]}``); ``None`` if not that."""
    if not isinstance(models_body, dict) or not isinstance(models_body.get("data"), list):
        return None
    return [m["id"] for m in models_body["data"] if isinstance(m, dict)
            and isinstance(m.get("id"), str)]


def looks_like_missing_model(status: int, detail: str) -> bool:
    text = detail.lower()
    return status == 404 and "model" in text and (
        "not found" in text or "does not exist" in text or "not exist" in text)
