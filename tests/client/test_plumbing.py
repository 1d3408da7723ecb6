"""The client's in-memory plumbing: request matching, event fan-out, reply streams."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest

from client.errors import ConnectionLost, GreenroomError
from client.event_hub import EventHub
from client.interface import ChatReply, ConnectionEvent
from client.reply_stream import ReplyStream
from client.request_table import RequestTable
from protocol.chat import ChatDelta
from protocol.session import PingResponse


async def test_response_reaches_only_the_request_with_its_id() -> None:
    table = RequestTable()
    first, second = table.new_id(), table.new_id()
    queue_one, queue_two = table.open(first), table.open(second)
    assert table.deliver(ChatDelta(message_id=second, delta="x", index=0))
    assert queue_one.empty()
    assert (await queue_two.get()).message_id == second  # type: ignore[union-attr]


def test_frame_for_an_unknown_id_is_unmatched() -> None:
    table = RequestTable()
    assert not table.deliver(PingResponse(message_id="nobody"))
    assert not table.deliver(PingResponse(message_id=None))


async def test_lost_connection_wakes_every_pending_request() -> None:
    table = RequestTable()
    queues = [table.open(table.new_id()) for _ in range(3)]
    table.fail_all(ConnectionLost("connection_lost", "gone"))
    for queue in queues:
        assert isinstance(await queue.get(), ConnectionLost)


def test_ids_are_unique_and_cannot_be_opened_twice() -> None:
    table = RequestTable()
    ids = {table.new_id() for _ in range(100)}
    assert len(ids) == 100
    message_id = ids.pop()
    table.open(message_id)
    with pytest.raises(ValueError, match="already in flight"):
        table.open(message_id)


async def test_every_subscriber_sees_events_published_after_it_subscribed() -> None:
    hub = EventHub()
    one, two = hub.subscribe(), hub.subscribe()
    hub.publish(ConnectionEvent("back"))
    hub.close()
    assert [e async for e in one] == [ConnectionEvent("back")]
    assert [e async for e in two] == [ConnectionEvent("back")]


async def test_slow_subscriber_loses_the_oldest_events_not_the_latest() -> None:
    hub = EventHub(queue_size=2)
    events = hub.subscribe()
    for attempt in range(1, 5):
        hub.publish(ConnectionEvent("reconnecting", attempt=attempt, max_attempts=4))
    hub.close()
    received = [e async for e in events]
    assert received[-1] == ConnectionEvent("reconnecting", attempt=4, max_attempts=4)
    assert len(received) <= 2


async def test_subscribing_after_close_ends_at_once() -> None:
    hub = EventHub()
    hub.close()
    assert [e async for e in hub.subscribe()] == []


async def _source(*items: str | ChatReply) -> AsyncGenerator[str | ChatReply, None]:
    for item in items:
        yield item


async def test_reply_stream_yields_deltas_then_holds_the_reply() -> None:
    stream = ReplyStream(lambda: _source("Hel", "lo", ChatReply(text="Hello")))
    assert [d async for d in stream] == ["Hel", "lo"]
    assert stream.reply == ChatReply(text="Hello")


async def test_reply_stream_without_a_final_reply_is_an_error() -> None:
    with pytest.raises(GreenroomError) as raised:
        await ReplyStream(lambda: _source("half")).collect()
    assert raised.value.code == "protocol_violation"


async def test_reply_stream_is_iterable_once() -> None:
    stream = ReplyStream(lambda: _source(ChatReply(text="x")))
    await stream.collect()
    with pytest.raises(RuntimeError):
        stream.__aiter__()


async def test_leaving_a_reply_stream_early_closes_its_source() -> None:
    closed = []

    async def source() -> AsyncGenerator[str | ChatReply, None]:
        try:
            yield "a"
            yield "b"
            yield ChatReply(text="ab")
        finally:
            closed.append(True)

    stream = ReplyStream(source)
    deltas = stream.__aiter__()
    assert await anext(deltas) == "a"
    assert isinstance(deltas, AsyncGenerator)
    await deltas.aclose()
    assert closed == [True]
    assert stream.reply is None
