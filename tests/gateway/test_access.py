"""Tokens, the bind rule, TLS configuration, origins and character ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from supervisor.gateway.access import (
    GatewayConfigError,
    allowed_origins,
    bearer_token,
    check_bind_allowed,
    is_loopback_host,
    is_safe_character_id,
    tls_context,
    token_matches,
)
from supervisor.settings import Settings


def test_no_configured_token_accepts_anything() -> None:
    assert token_matches(None, None)
    assert token_matches("whatever", None)


def test_configured_token_needs_an_exact_match() -> None:
    assert token_matches("s3cret", "s3cret")
    assert not token_matches("s3cre", "s3cret")
    assert not token_matches(None, "s3cret")
    assert not token_matches("", "s3cret")


@pytest.mark.parametrize(
    ("header", "token"),
    [("Bearer abc", "abc"), ("bearer   abc  ", "abc"), ("Basic abc", None), ("Bearer", None),
     ("Bearer ", None), (None, None)],
)
def test_bearer_header_parsing(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True),
     ("127.9.9.9", True), ("0.0.0.0", False), ("::", False), ("", False),
     ("192.168.1.4", False), ("example.org", False)],
)
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_non_loopback_bind_without_token_is_refused_with_a_clear_reason() -> None:
    with pytest.raises(GatewayConfigError, match="without a token"):
        check_bind_allowed(Settings(host="0.0.0.0"))


def test_non_loopback_bind_is_allowed_with_a_token_or_insecure() -> None:
    check_bind_allowed(Settings(host="0.0.0.0", token="t"))
    check_bind_allowed(Settings(host="0.0.0.0", insecure=True))
    check_bind_allowed(Settings())


def test_tls_is_off_without_files_and_refused_when_half_configured(tmp_path: Path) -> None:
    assert tls_context(Settings()) is None
    with pytest.raises(GatewayConfigError, match="both"):
        tls_context(Settings(tls_cert=tmp_path / "cert.pem"))


def test_tls_with_unreadable_files_names_them(tmp_path: Path) -> None:
    with pytest.raises(GatewayConfigError, match=r"cert\.pem"):
        tls_context(Settings(tls_cert=tmp_path / "cert.pem", tls_key=tmp_path / "key.pem"))


def test_origins_unchecked_unless_configured_then_non_browser_clients_still_allowed() -> None:
    assert allowed_origins(Settings()) is None
    assert allowed_origins(Settings(allowed_origins=("https://app.example",))) == [
        "https://app.example",
        None,
    ]


@pytest.mark.parametrize(
    ("character_id", "safe"),
    [("m-playful", True), ("zen_master2", True), ("zen_master.v2", False), ("M-Playful", False),
     ("../etc", False), ("a/b", False), ("", False), (".hidden", False), ("a..b", False),
     ("a\x00", False), ("x" * 200, False)],
)
def test_character_ids_are_names_not_paths(character_id: str, safe: bool) -> None:
    assert is_safe_character_id(character_id) is safe
