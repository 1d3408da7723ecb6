"""``ReplyStream``: one reply being generated, as an async iterator of text deltas.

Both characters (remote and local) build one from an async generator that yields ``str``
deltas and finally exactly one ``ChatReply``; the stream hands the deltas to its reader and
keeps the reply. Closing the iteration early closes the source, which is how a front end
abandons a generation (the source cancels it at the server or in the engine).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing

from client.errors import PROTOCOL_VIOLATION, GreenroomError
from client.interface import ChatReply, ReplyPhase

ReplySource = Callable[[], AsyncGenerator[str | ReplyPhase | ChatReply, None]]


class ReplyStream:
    """Iterate once for the deltas; ``reply`` is set when the iteration completed.

    Errors from the source (``Cancelled``, ``CharacterUnavailable``, ...) propagate out of the
    iteration unchanged. The source is started lazily, on the first ``__anext__``.
    ``on_phase``, when set before iterating, is called with each ``ReplyPhase`` the server
    reports (queued, reading the prompt, first token).
    """

    def __init__(self, source: ReplySource) -> None:
        self._source = source
        self._started = False
        self._reply: ChatReply | None = None
        self.on_phase: Callable[[ReplyPhase], None] | None = None

    @property
    def reply(self) -> ChatReply | None:
        return self._reply

    def __aiter__(self) -> AsyncIterator[str]:
        if self._started:
            raise RuntimeError("a ReplyStream can be iterated only once")
        self._started = True
        return self._deltas()

    async def collect(self) -> ChatReply:
        """Consume the whole stream and return the finished reply."""
        async for _ in self:
            pass
        assert self._reply is not None  # _deltas raises instead of ending without one
        return self._reply

    async def _deltas(self) -> AsyncIterator[str]:
        async with aclosing(self._source()) as source:
            async for item in source:
                if isinstance(item, ChatReply):
                    self._reply = item
                elif isinstance(item, ReplyPhase):
                    if self.on_phase is not None:
                        self.on_phase(item)
                else:
                    yield item
        if self._reply is None:
            raise GreenroomError(PROTOCOL_VIOLATION, "The reply ended without a final response.")
