"""Tokens, the bind rule, TLS configuration, origins and character ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.settings import Settings
from schemas.model import is_valid_character_id
from supervisor.gateway.access import (
    GatewayConfigError,
    bearer_token,
    check_allowed_names,
    check_bind_allowed,
    host_name,
    host_refusal,
    is_loopback_host,
    origin_refusal,
    tls_context,
    token_matches,
)


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
        check_bind_allowed(Settings.from_flat(host="0.0.0.0"))


def test_non_loopback_bind_is_allowed_with_a_token_or_insecure() -> None:
    check_bind_allowed(Settings.from_flat(host="0.0.0.0", token="t"))
    check_bind_allowed(Settings.from_flat(host="0.0.0.0", insecure=True))
    check_bind_allowed(Settings())


def test_tls_is_off_without_files_and_refused_when_half_configured(tmp_path: Path) -> None:
    assert tls_context(Settings()) is None
    with pytest.raises(GatewayConfigError, match="both"):
        tls_context(Settings.from_flat(tls_cert=tmp_path / "cert.pem"))


def test_tls_with_unreadable_files_names_them(tmp_path: Path) -> None:
    with pytest.raises(GatewayConfigError, match=r"cert\.pem"):
        tls_context(Settings.from_flat(tls_cert=tmp_path / "cert.pem",
                                       tls_key=tmp_path / "key.pem"))


@pytest.mark.parametrize(
    "origins",
    [[], ["http://127.0.0.1:8765"], ["http://localhost:8765"], ["http://[::1]:8765"],
     ["HTTP://LOCALHOST:8765"], ["https://app.example"]],
)
def test_no_origin_the_gateways_own_loopback_origins_and_allowed_ones_are_accepted(
    origins: list[str],
) -> None:
    assert origin_refusal(origins, port=8765, tls=False, allowed=("https://app.example",)) is None


@pytest.mark.parametrize(
    ("origins", "tls"),
    [(["https://evil.example"], False), (["null"], False), (["http://127.0.0.1:3000"], False),
     (["https://127.0.0.1:8765"], False), (["http://127.0.0.1:8765", "http://x.example"], False),
     (["http://127.0.0.2:8765"], False), (["file://"], True)],
)
def test_other_pages_null_other_ports_and_repeated_origins_are_refused(
    origins: list[str], tls: bool
) -> None:
    assert origin_refusal(origins, port=8765, tls=tls, allowed=()) is not None


def test_null_is_refused_even_when_configured_and_https_counts_only_with_tls() -> None:
    assert origin_refusal(["null"], port=1, tls=False, allowed=("null",)) is not None
    assert origin_refusal(["https://localhost:443"], port=443, tls=True, allowed=()) is None
    assert origin_refusal(["https://localhost"], port=443, tls=True, allowed=()) is None


def test_allowed_origins_and_hosts_that_could_never_match_refuse_to_start() -> None:
    check_allowed_names(Settings.from_flat(allowed_origins=("http://LocalHost:3000/",),
                                 allowed_hosts=("Box.LAN",)))
    with pytest.raises(GatewayConfigError) as refused:
        check_allowed_names(Settings.from_flat(allowed_origins=("localhost:3000", "https://ok.example"),
                                     allowed_hosts=("http://box.lan",)))
    message = str(refused.value)
    assert "--allowed-origin 'localhost:3000' is not scheme://host[:port]" in message
    assert "--allowed-host 'http://box.lan'" in message and "ok.example" not in message


def test_an_origin_header_is_compared_in_normal_form_too() -> None:
    allowed = Settings.from_flat(allowed_origins=("http://LocalHost:3000/",)).gateway.allowed_origins
    for header in ("http://localhost:3000", "http://LOCALHOST:3000"):
        assert origin_refusal([header], port=8765, tls=False, allowed=allowed) is None
    assert origin_refusal(["http://localhost:3001"], port=8765, tls=False,
                          allowed=allowed) is not None


@pytest.mark.parametrize(
    ("header", "name"),
    [("127.0.0.1:8765", "127.0.0.1"), ("[::1]:8765", "::1"), ("Localhost.", "localhost"),
     ("example.org", "example.org"), ("::1", "::1")],
)
def test_host_name_drops_port_brackets_case_and_final_dot(header: str, name: str) -> None:
    assert host_name(header) == name


@pytest.mark.parametrize(
    ("hosts", "bind", "allowed"),
    [(["127.0.0.1:8765"], "127.0.0.1", ()), (["localhost:8765"], "127.0.0.1", ()),
     (["localhost"], "127.0.0.1", ()), (["[::1]:8765"], "localhost", ()),
     (["greenroom.lan:8765"], "127.0.0.1", ("greenroom.lan",)),
     (["192.168.1.4:8765"], "0.0.0.0", ()), (["10.0.0.2"], "10.0.0.2", ())],
)
def test_the_bind_address_localhost_and_allowed_names_are_accepted(
    hosts: list[str], bind: str, allowed: tuple[str, ...]
) -> None:
    assert host_refusal(hosts, bind_host=bind, allowed=allowed) is None


@pytest.mark.parametrize(
    ("hosts", "bind"),
    [(["evil.example:8765"], "127.0.0.1"), (["evil.example"], "0.0.0.0"),
     (["192.168.1.4:8765"], "127.0.0.1"), ([], "127.0.0.1"),
     (["127.0.0.1", "127.0.0.1"], "127.0.0.1")],
)
def test_other_names_a_missing_host_and_repeated_hosts_are_refused(
    hosts: list[str], bind: str
) -> None:
    refusal = host_refusal(hosts, bind_host=bind, allowed=())
    assert refusal is not None
    if hosts[:1] == ["evil.example:8765"]:
        assert "--allowed-host" in refusal


@pytest.mark.parametrize(
    ("character_id", "safe"),
    [("m-playful", True), ("zen_master2", True), ("zen_master.v2", False), ("M-Playful", False),
     ("../etc", False), ("a/b", False), ("", False), (".hidden", False), ("a..b", False),
     ("a\x00", False), ("x" * 200, False)],
)
def test_character_ids_are_names_not_paths(character_id: str, safe: bool) -> None:
    assert is_valid_character_id(character_id) is safe
