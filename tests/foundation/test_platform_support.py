"""The portable-mode switch: one variable turns off every Linux-only mechanism at once."""

from __future__ import annotations

import os
import select
import signal
import socket
import sys
import threading
from collections.abc import Iterator

import pytest

from runtime import process_death
from runtime.platform_support import (
    PARENT_CHECK_S,
    PORTABLE_VARIABLE,
    PlatformSettingError,
    mechanisms_for,
)
from worker.hangup_watch import _wait_portably, peer_closed

NATIVE = {"portable": False, "parent_death": "pdeathsig", "hangup_watch": "pollrdhup",
          "zygote_http_warmup": True}
PORTABLE = {"portable": True, "parent_death": "eof+getppid-check", "hangup_watch": "poll+peek",
            "zygote_http_warmup": False}


@pytest.mark.parametrize(("environ", "platform", "has_pollrdhup", "expected"), [
    ({}, "linux", True, NATIVE),
    ({PORTABLE_VARIABLE: "0"}, "linux", True, NATIVE),
    ({PORTABLE_VARIABLE: "1"}, "linux", True, PORTABLE),
    ({PORTABLE_VARIABLE: " Yes "}, "linux", True, PORTABLE),
    ({}, "darwin", False, PORTABLE),
    ({PORTABLE_VARIABLE: "0"}, "darwin", False, PORTABLE),
    ({}, "linux", False, PORTABLE),
])
def test_the_switch_and_the_platform_choose_every_mechanism_together(
    environ: dict[str, str], platform: str, has_pollrdhup: bool, expected: dict[str, object]
) -> None:
    assert mechanisms_for(environ, platform, has_pollrdhup).describe() == expected


def test_a_value_that_is_neither_on_nor_off_is_refused_with_what_to_set() -> None:
    with pytest.raises(PlatformSettingError, match=r"GREENROOM_PORTABLE='maybe'.*set it to 1"):
        mechanisms_for({PORTABLE_VARIABLE: "maybe"}, "linux", True)


def test_portable_mode_asks_for_no_parent_death_signal(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, ...]] = []

    class FakeLibc:
        def prctl(self, *args: int) -> int:
            calls.append(args)
            return 0

    monkeypatch.setattr(process_death, "_libc", FakeLibc)
    monkeypatch.setenv(PORTABLE_VARIABLE, "1")
    assert process_death.set_parent_death_signal() is False
    assert calls == []
    if mechanisms_for({}, sys.platform, hasattr(select, "POLLRDHUP")).portable:
        return  # not Linux: there is no signal to ask for
    monkeypatch.setenv(PORTABLE_VARIABLE, "0")
    assert process_death.set_parent_death_signal() is True
    assert calls == [(process_death.PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)]


@pytest.fixture
def channel() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, theirs = socket.socketpair()
    yield ours, theirs
    ours.close()
    theirs.close()


def watch(sock: socket.socket, parent_pid: int) -> threading.Thread:
    thread = threading.Thread(target=_wait_portably, args=(sock, parent_pid), daemon=True)
    thread.start()
    return thread


def test_peeking_tells_data_from_eof_and_leaves_the_data(
    channel: tuple[socket.socket, socket.socket]
) -> None:
    ours, theirs = channel
    theirs.sendall(b"frame")
    assert peer_closed(ours) is False
    theirs.close()
    assert peer_closed(ours) is False  # data first, EOF after it
    assert ours.recv(16) == b"frame"
    assert peer_closed(ours) is True


def test_the_portable_watch_ignores_data_and_returns_at_the_peers_hang_up(
    channel: tuple[socket.socket, socket.socket]
) -> None:
    ours, theirs = channel
    thread = watch(ours, os.getppid())
    theirs.sendall(b"a frame for the event loop")
    thread.join(PARENT_CHECK_S * 3)
    assert thread.is_alive()
    assert ours.recv(64) == b"a frame for the event loop"
    theirs.close()
    thread.join(10)
    assert not thread.is_alive()


def test_the_portable_watch_returns_once_the_parent_is_gone(
    channel: tuple[socket.socket, socket.socket]
) -> None:
    ours, _theirs = channel
    thread = watch(ours, parent_pid=os.getpid())  # not our parent: as if reparented
    thread.join(10)
    assert not thread.is_alive()
