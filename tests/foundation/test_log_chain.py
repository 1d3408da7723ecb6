"""The shared processor chain: a stdlib ``logging`` record comes out like a structlog one."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest
import structlog

from runtime.log_chain import route_records

IDENTITY = {"process": "worker", "pid": 4242, "character": "zen-master", "worker_generation": 3}
BOUND = {"session": "s-1", "message_id": "m-1"}


class Delivered(list[dict[str, Any]]):
    """What reached ``deliver``, one dict per call."""

    def __call__(self, record: MutableMapping[str, Any]) -> None:
        self.append(dict(record))


@pytest.fixture
def delivered() -> Iterator[Delivered]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    records = Delivered()
    route_records(records, level="debug", identity=IDENTITY)
    yield records
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    root.handlers[:], root.level = handlers, level


def test_a_stdlib_record_in_bound_context_has_the_fields_of_a_structlog_one(
        delivered: Delivered) -> None:
    with structlog.contextvars.bound_contextvars(**BOUND):
        structlog.get_logger().warning("handshake_failed")
        logging.getLogger("websockets").warning("handshake failed")
    ours, theirs = delivered
    assert theirs.keys() == ours.keys() | {"logger"}
    assert {k: theirs[k] for k in (*BOUND, *IDENTITY, "level")} == {
        k: ours[k] for k in (*BOUND, *IDENTITY, "level")}
    assert (theirs["event"], theirs["logger"]) == ("handshake failed", "websockets")


def test_one_stdlib_record_is_delivered_exactly_once(delivered: Delivered) -> None:
    logging.getLogger("httpx").info("HTTP Request: %s %s", "POST", "/api/chat")
    assert [r["event"] for r in delivered] == ["HTTP Request: POST /api/chat"]


def test_reconfiguring_replaces_the_bridge_instead_of_adding_one(
        delivered: Delivered) -> None:
    route_records(delivered, level="debug", identity=IDENTITY)
    logging.getLogger("asyncio").warning("slow callback")
    assert len(delivered) == 1


def test_a_stdlib_exception_is_formatted_as_a_structlog_one_is(delivered: Delivered) -> None:
    for log in (structlog.get_logger(), logging.getLogger("asyncio")):
        try:
            raise ValueError("bad frame")
        except ValueError:
            log.exception("task_failed")
    for record in delivered:
        assert record["level"] == "error"
        assert "ValueError: bad frame" in record["exception"] and "exc_info" not in record


def test_a_thread_with_an_empty_context_still_says_which_process_it_is(
        delivered: Delivered) -> None:
    with structlog.contextvars.bound_contextvars(**BOUND):
        thread = threading.Thread(target=logging.getLogger("debugpy").warning, args=("up",))
        thread.start()
        thread.join()
    (record,) = delivered
    assert {k: record[k] for k in IDENTITY} == IDENTITY
    assert not BOUND.keys() & record.keys()


def test_libraries_debug_records_are_dropped_even_at_the_debug_level(
        delivered: Delivered) -> None:
    logging.getLogger("websockets").debug("< TEXT frame")
    structlog.get_logger().debug("frame_received")
    assert [r["event"] for r in delivered] == ["frame_received"]


def test_a_record_below_the_level_is_dropped_on_both_paths(delivered: Delivered) -> None:
    route_records(delivered, level="warning")
    structlog.get_logger().info("worker_ready")
    logging.getLogger("httpx").info("HTTP Request: GET /api/tags")
    assert delivered == []
