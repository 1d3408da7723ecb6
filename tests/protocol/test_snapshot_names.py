"""Snapshot names are names, never paths."""

from __future__ import annotations

import pytest

from protocol.errors import ErrorCode, ProtocolError
from protocol.names import check_snapshot_name


@pytest.mark.parametrize("name", ["before-party", "save_2024-03-01", "Zen 1", "café", "a.b",
                                  "日本語", "é", "a:b", " padded ", "x" * 128, "é" * 64])
def test_plain_names_are_accepted_unchanged(name: str) -> None:
    assert check_snapshot_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "../etc/passwd",
        "..",
        ".",
        ".hidden",
        "a/b",
        "a\\b",
        "a\x00b",
        "tab\tname",
        "x" * 129,
        "é" * 65,
        "del\x7f",
        "c1\x85control",
        "\x1b[31mred",
        "/abs",
        "a..b",
        "\ud800",
    ],
)
def test_paths_and_unsafe_names_are_refused_as_invalid_name(name: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        check_snapshot_name(name, message_id="s-1")
    assert (caught.value.code, caught.value.message_id) == (ErrorCode.INVALID_NAME, "s-1")
