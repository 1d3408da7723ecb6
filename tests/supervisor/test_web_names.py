"""Configured origins and host names in the form browsers send them."""

from __future__ import annotations

import pytest

from runtime.web_names import normal_host, normal_origin


@pytest.mark.parametrize(("value", "normal"), [
    ("http://LocalHost:3000", "http://localhost:3000"),
    ("http://localhost:3000/", "http://localhost:3000"),
    ("HTTPS://App.Example:443", "https://app.example"),
    ("http://app.example:80/", "http://app.example"),
    ("https://app.example:8443", "https://app.example:8443"),
    ("http://[::1]:3000", "http://[::1]:3000"),
    ("http://[0:0::1]:80", "http://[::1]"),
    (" https://x.example ", "https://x.example"),
    ("chrome-extension://abcdefgh", "chrome-extension://abcdefgh"),
])
def test_an_origin_is_lowercased_without_trailing_slash_or_default_port(
    value: str, normal: str
) -> None:
    assert normal_origin(value) == normal


@pytest.mark.parametrize("value", [
    "null", "localhost:3000", "app.example", "http://", "http://app.example/page",
    "http://app.example?x", "http://app.example#top", "http://user@app.example",
    "http://app.example:99999", "http://app.example:", "http://a b", "",
])
def test_what_is_not_scheme_host_port_is_no_origin(value: str) -> None:
    assert normal_origin(value) is None


@pytest.mark.parametrize(("value", "normal"), [
    ("greenroom.lan", "greenroom.lan"), ("Box.LAN.", "box.lan"),
    ("greenroom.lan:8765", "greenroom.lan"), ("[::1]:8765", "::1"), ("::1", "::1"),
    ("10.0.0.2", "10.0.0.2"),
])
def test_a_host_name_is_lowercased_without_port_brackets_or_final_dot(
    value: str, normal: str
) -> None:
    assert normal_host(value) == normal


@pytest.mark.parametrize("value", [
    "http://greenroom.lan", "greenroom.lan/", "a b", "", "[::1", "[::1]x", "box:0", "x:port",
])
def test_what_is_not_a_host_name_is_refused(value: str) -> None:
    assert normal_host(value) is None
