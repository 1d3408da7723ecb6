"""Small helpers shared by the backend tests (no fakes of greenroom's own parts)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from worker.backends.base import (
    ChatMessage,
    GenerationDone,
    GenerationOptions,
    GenerationRequest,
    TextDelta,
)

HELLO = GenerationRequest(messages=[ChatMessage("system", "You are Mira."),
                                    ChatMessage("user", "Hello!")])


def request(**options: object) -> GenerationRequest:
    return GenerationRequest(messages=HELLO.messages, options=GenerationOptions(**options))  # type: ignore[arg-type]


async def collect(
    stream: AsyncIterator[TextDelta | GenerationDone],
) -> tuple[str, GenerationDone]:
    """The whole reply text and the final ``GenerationDone``; asserts exactly one, last."""
    text: list[str] = []
    done: GenerationDone | None = None
    async for event in stream:
        assert done is None, "nothing may follow GenerationDone"
        if isinstance(event, TextDelta):
            text.append(event.text)
        else:
            done = event
    assert done is not None, "the stream ended without GenerationDone"
    return "".join(text), done
