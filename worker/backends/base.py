"""What every LLM backend promises the engine.

A backend turns a list of chat messages into a stream of text deltas followed by exactly one
``GenerationDone``. Closing the iterator early (``aclose()``, or cancelling the task that
iterates it) must release the underlying stream at once: for an HTTP backend that means the
connection is closed and the server stops generating.

Consumers: iterate a stream inside ``async with closing_stream(backend.generate(request)) as
stream:`` so that leaving the block early (an exception, ``break``, cancellation of the task
while it is doing something else) closes the stream at once instead of whenever the garbage
collector finalises the generator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from schemas.model import Character

Role = Literal["system", "user", "assistant"]
#: ``incomplete``: a reply the stream cut off, kept anyway at the user's request (``keep_partial``).
FinishReason = Literal["stop", "length", "cancelled", "incomplete"]
#: ``reported``: the server sent the token counts; ``counted``: it did not (a server that ignores
#: ``stream_options.include_usage``), so ``completion_tokens`` is the number of deltas received.
UsageSource = Literal["reported", "counted"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class GenerationOptions:
    """Sampling and limits for one generation; ``None`` means the backend's default."""

    model: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    num_ctx: int | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    keep_alive: str | None = None


@dataclass(frozen=True, slots=True)
class ReplyContext:
    """What an offline backend needs to answer in character without a model.

    LLM backends ignore it: for them everything is already in the messages.
    """

    character: Character
    user_name: str
    user_message: str
    intent: str
    mood: str
    mood_intensity: float
    valence: float
    turn_index: int
    memory_snippets: tuple[str, ...] = ()
    #: Which answer to this turn is wanted: 0 for the first, n for the n-th regenerate (the
    #: number of replies the turn already has). An offline backend answers each variant
    #: differently so that a regenerate visibly changes something.
    variant: int = 0
    #: The same user's earlier messages in this conversation, oldest first (as many as the
    #: engine's history window holds): an offline backend finds in them what the user said
    #: about themselves a few turns ago, such as their name.
    earlier_user_messages: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """``background``: nobody waits for the answer (the model's notes after a turn); a
    ``GuardedBackend`` then takes no reply lock for it and does not count it as a stream —
    ``worker.backends.background_requests`` holds the server for it instead."""

    messages: Sequence[ChatMessage]
    options: GenerationOptions = GenerationOptions()
    context: ReplyContext | None = None
    background: bool = False


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class GenerationDone:
    """Usage figures of a finished generation; counts are ``None`` when not reported."""

    backend: str
    model: str
    finish_reason: FinishReason = "stop"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    duration_s: float | None = None
    tokens_per_s: float | None = None
    usage_source: UsageSource = "reported"
    extra: dict[str, float | int | str] = field(default_factory=dict)


class BackendError(Exception):
    """A generation failed; ``code`` is the protocol error code it maps to, ``details`` the
    machine-readable facts that go into ``error_response.details`` (``None``: none)."""

    code = "llm_error"

    def __init__(self, message: str, *, retryable: bool = False,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.details = details


class LLMUnavailable(BackendError):
    """The server or model cannot be reached; the message says which URL/model and what to run."""

    code = "llm_unavailable"


class LLMError(BackendError):
    """The server answered, but with an error (mid-stream error line, bad status, bad JSON)."""

    code = "llm_error"


class LLMIncomplete(BackendError):
    """The stream ended (``[DONE]``, end of body, Ollama without ``done: true``) before the
    server said the reply was finished: llama-cpp-python's server does this to a reply when
    another request arrives. The engine adds ``details.partial_text`` (what streamed)."""

    code = "llm_incomplete"


class LLMTimeout(BackendError):
    """No first token within ``GREENROOM_LLM_FIRST_TOKEN_TIMEOUT``, or a gap between tokens
    longer than ``GREENROOM_LLM_SILENCE_TIMEOUT``; the message names the limit."""

    code = "timeout"


class ContextOverflow(BackendError):
    """The prompt does not fit the server's context window. ``details`` carries
    ``prompt_tokens`` and ``context_tokens`` when the server's message gave them."""

    code = "context_overflow"


class Backend(Protocol):
    name: str

    async def check(self) -> None:
        """Raise ``LLMUnavailable`` when the server or model is not there; cheap, bounded."""

    def generate(self, request: GenerationRequest) -> AsyncIterator[TextDelta | GenerationDone]:
        """Stream the reply: deltas as they arrive, then one ``GenerationDone``."""

    async def aclose(self) -> None:
        """Release connections."""


@asynccontextmanager
async def closing_stream(
    stream: AsyncIterator[TextDelta | GenerationDone],
) -> AsyncIterator[AsyncIterator[TextDelta | GenerationDone]]:
    """``contextlib.aclosing`` for a ``generate()`` stream typed as a plain ``AsyncIterator``:
    on exit, however it happens, the stream's ``aclose()`` (when it has one) is awaited."""
    try:
        yield stream
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


class Embedder(Protocol):
    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, same order; raises ``BackendError`` on failure."""
