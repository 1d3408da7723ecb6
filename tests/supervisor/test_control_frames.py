"""The fork server's control stream: whole messages out of arbitrary byte chunks."""

from __future__ import annotations

import pytest

from supervisor.pool.control_frames import (
    HEADER,
    MAX_MESSAGE_BYTES,
    ControlDecoder,
    ControlStreamError,
    encode,
)


def test_messages_split_and_joined_anyhow_come_out_whole_and_in_order() -> None:
    messages = [("spawn", 1, {"character": "zen-master"}), ("exited", 42, -9), ("hello", 7)]
    stream = b"".join(encode(m) for m in messages)
    decoder = ControlDecoder()
    out = []
    for cut in range(0, len(stream), 5):
        out += decoder.feed(stream[cut:cut + 5])
    assert out == messages
    assert ControlDecoder().feed(stream) == messages


def test_an_announced_length_over_the_limit_is_a_corrupt_stream() -> None:
    with pytest.raises(ControlStreamError, match="limit is"):
        ControlDecoder().feed(HEADER.pack(MAX_MESSAGE_BYTES + 1) + b"x")


def test_a_message_over_the_limit_is_never_sent() -> None:
    with pytest.raises(ControlStreamError, match="exceeds"):
        encode(("spawn", 1, b"x" * MAX_MESSAGE_BYTES))
