"""The ``scripted`` backend: the offline composer's replies streamed like a model's.

The reply itself comes from ``worker.scripted_replies`` (pure, deterministic, in character;
see its docstring). This module is the ``Backend`` around it: the reply is composed in a
thread, then streamed word by word, each word a ``TextDelta`` after ``word_delay_s``
(``GREENROOM_SCRIPTED_WORD_DELAY``), so cancelling the consuming task stops the stream
between two words as it would stop an HTTP backend's.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Sequence
from typing import Final

from worker.backends.base import ChatMessage, GenerationDone, GenerationRequest, TextDelta
from worker.scripted_replies.compose import compose_reply

# A word and the whitespace after it: the deltas join back into the reply exactly.
_WORD_RE: Final = re.compile(r"\S+\s*")


def _fallback_reply(messages: Sequence[ChatMessage]) -> str:
    """The reply to a request without a ``ReplyContext``: the last user message echoed."""
    last = next((m.content for m in reversed(messages) if m.role == "user"), "")
    return f"You said: {last}" if last else "I'm listening."


class ScriptedBackend:
    """The offline backend. ``word_delay_s`` spaces the streamed words (0: no delay, but
    each word still yields to the event loop, so a reply can be cancelled mid-stream)."""

    name = "scripted"

    def __init__(self, *, word_delay_s: float = 0.0) -> None:
        if word_delay_s < 0:
            raise ValueError(f"word_delay_s must be >= 0, got {word_delay_s!r}")
        self.word_delay_s = word_delay_s

    async def check(self) -> None:
        """Always available: there is no server."""

    async def generate(self, request: GenerationRequest
                       ) -> AsyncIterator[TextDelta | GenerationDone]:
        started = time.perf_counter()
        # Composing reads the whole message (linear, but long for a long one): in a thread,
        # so the worker's event loop keeps answering meanwhile.
        reply = (await asyncio.to_thread(compose_reply, request.context)
                 if request.context is not None else _fallback_reply(request.messages))
        words = _WORD_RE.findall(reply)
        limit = request.options.max_tokens
        cut = limit is not None and len(words) > limit
        if cut:
            words = words[:limit]
        for word in words:
            await asyncio.sleep(self.word_delay_s)
            yield TextDelta(word)
        duration = time.perf_counter() - started
        yield GenerationDone(
            backend=self.name,
            model="scripted",
            finish_reason="length" if cut else "stop",
            prompt_tokens=sum(len(m.content) // 4 + 4 for m in request.messages),
            completion_tokens=len(words),
            duration_s=duration,
            tokens_per_s=len(words) / duration if duration > 0 else None,
        )

    async def aclose(self) -> None:
        """Nothing to release."""
