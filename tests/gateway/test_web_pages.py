"""What a web page in the user's browser can do to a gateway on 127.0.0.1: nothing.

A page may open a WebSocket to any loopback port (the browser sends the page's ``Origin``) or
reach it through a name of its own re-pointed at 127.0.0.1 (DNS rebinding: ``Host`` is that
name). These tests send exactly what such a browser sends, over real sockets.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import structlog
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from protocol.admin import WorkersRequest
from supervisor.commands.admin_client import AdminError, admin_request
from supervisor.gateway.refusal_log import RefusalLogLimiter
from tests.gateway.conftest import GatewayFactory, open_peer, url_of

TOKEN = "correct horse battery staple"


async def raw_request(port: int, head: str) -> tuple[int, dict[str, str], str]:
    """Send ``head`` (request line and headers, no final blank line) as-is; returns the
    status, the headers and the body of the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\n\r\n")
        await writer.drain()
        async with asyncio.timeout(10):
            status_line = await reader.readline()
            headers: dict[str, str] = {}
            while (line := (await reader.readline()).decode().strip()):
                name, _, value = line.partition(":")
                headers[name.lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
    finally:
        writer.close()
    return int(status_line.split()[1]), headers, body.decode()


def websocket_handshake(port: int, *, host: str | None = None, origin: str | None = None,
                        extra: str = "") -> str:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = ["GET / HTTP/1.1", f"Host: {host or f'127.0.0.1:{port}'}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    return "\n".join(lines) + extra


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1:3000"])
async def test_a_foreign_page_a_null_origin_and_another_local_port_are_refused_by_default(
    make_gateway: GatewayFactory, origin: str
) -> None:
    gateway, _ = await make_gateway()
    with structlog.testing.capture_logs() as logs, pytest.raises(InvalidStatus) as refused:
        async with connect(url_of(gateway), origin=origin):  # type: ignore[arg-type]
            pass
    response = refused.value.response
    assert response.status_code == 403
    assert response.body is not None and response.body.decode().count("\n") == 1
    assert "Origin" in response.body.decode()
    [record] = [r for r in logs if r["event"] == "handshake_refused"]
    assert record["origin"] == origin and record["status"] == 403 and record["remote"]


async def test_a_page_looping_new_websocket_logs_one_refusal_and_then_a_count(
    make_gateway: GatewayFactory,
) -> None:
    """Every refusal used to write a warning: hundreds of lines a second rotated the crash
    history away."""
    gateway, _ = await make_gateway()
    port = gateway.port
    with structlog.testing.capture_logs() as logs:
        for _ in range(40):
            status, _, _ = await raw_request(
                gateway.port, websocket_handshake(gateway.port, origin="https://evil.example"))
            assert status == 403
        status, _, _ = await raw_request(
            gateway.port, websocket_handshake(gateway.port, host="evil.example"))
        assert status == 403
        await gateway.close(grace_s=0.5)
    refused = [r for r in logs if r["event"] == "handshake_refused"]
    suppressed = [r for r in logs if r["event"] == "handshake_refused_suppressed"]
    assert [(r["origin"], r["host"]) for r in refused] == [
        ("https://evil.example", f"127.0.0.1:{port}"), (None, "evil.example")]
    assert [(r["origin"], r["status"], r["count"]) for r in suppressed] == [
        ("https://evil.example", 403, 39)]


@contextmanager
def logs_until(event: str) -> Iterator[tuple[list[dict[str, Any]], asyncio.Event]]:
    """Capture structlog records, and set the event when one named ``event`` arrives."""
    records: list[dict[str, Any]] = []
    arrived = asyncio.Event()

    def capture(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> Any:
        records.append(dict(event_dict))
        if event_dict["event"] == event:
            arrived.set()
        raise structlog.DropEvent

    processors = structlog.get_config()["processors"]
    structlog.configure(processors=[capture])
    try:
        yield records, arrived
    finally:
        structlog.configure(processors=processors)


async def test_the_suppressed_count_is_written_when_the_window_ends_without_more_refusals(
    make_gateway: GatewayFactory,
) -> None:
    gateway, _ = await make_gateway()
    gateway._handshake._refusal_log = RefusalLogLimiter(time.monotonic, window_s=0.2)
    with logs_until("handshake_refused_suppressed") as (logs, suppressed):
        for _ in range(3):
            await raw_request(gateway.port, websocket_handshake(gateway.port, origin="null"))
        async with asyncio.timeout(10):
            await suppressed.wait()
    assert [(r["event"], r.get("count")) for r in logs] == [
        ("handshake_refused", None), ("handshake_refused_suppressed", 2)]


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "[::1]"])
async def test_a_page_on_the_gateways_own_loopback_address_is_served_only_on_its_port(
    make_gateway: GatewayFactory, name: str
) -> None:
    gateway, _ = await make_gateway()
    async with open_peer(gateway, origin=f"http://{name}:{gateway.port}") as page:
        assert (await page.request("ping_request"))["message_type"] == "ping_response"
        init = await page.request("init_request", character_id="alpha")
    assert init["message_type"] == "init_response"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url_of(gateway), origin=f"http://{name}:{gateway.port + 1}"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("path", ["/", "/healthz", "/metrics"])
async def test_a_dns_rebinding_host_is_refused_on_the_websocket_and_http_paths(
    make_gateway: GatewayFactory, path: str
) -> None:
    gateway, _ = await make_gateway()
    rebound = f"evil.example:{gateway.port}"
    head = (websocket_handshake(gateway.port, host=rebound) if path == "/"
            else f"GET {path} HTTP/1.1\nHost: {rebound}")
    with structlog.testing.capture_logs() as logs:
        status, _, body = await raw_request(gateway.port, head)
    assert status == 403
    assert "evil.example" in body and "--allowed-host" in body
    assert [r["host"] for r in logs if r["event"] == "handshake_refused"] == [rebound]


async def test_a_configured_host_name_and_localhost_are_accepted(
    make_gateway: GatewayFactory,
) -> None:
    gateway, _ = await make_gateway(allowed_hosts=("greenroom.lan",))
    for host in ("greenroom.lan", f"greenroom.lan:{gateway.port}", f"localhost:{gateway.port}"):
        status, headers, _ = await raw_request(
            gateway.port, websocket_handshake(gateway.port, host=host))
        assert (status, headers["upgrade"]) == (101, "websocket")


@pytest.mark.parametrize("message_type", ["debug_request", "restart_request", "workers_request"])
async def test_admin_requests_from_a_page_are_forbidden_without_a_token(
    make_gateway: GatewayFactory, message_type: str
) -> None:
    gateway, pool = await make_gateway()
    await pool.ensure("alpha")
    async with open_peer(gateway, origin=f"http://localhost:{gateway.port}") as page:
        answer = await page.request(message_type, character_id="alpha")
        assert (await page.request("ping_request"))["message_type"] == "ping_response"
    assert answer["error_code"] == "forbidden"
    assert "Origin" in answer["error"] and "--token" in answer["error"]
    assert [s.restarts for s in pool.snapshots() if s.character_id == "alpha"] == [0]
    async with open_peer(gateway) as cli:
        served = await cli.request("workers_request")
    assert served["message_type"] == "workers_response"


async def test_an_allowed_origin_typed_with_capitals_and_a_slash_admits_its_page(
    make_gateway: GatewayFactory,
) -> None:
    gateway, _ = await make_gateway(allowed_origins=("http://LocalHost:3000/",),
                                    allowed_hosts=("GreenRoom.LAN.",))
    async with open_peer(gateway, origin="http://localhost:3000") as page:
        assert (await page.request("ping_request"))["message_type"] == "ping_response"
    status, headers, _ = await raw_request(
        gateway.port, websocket_handshake(gateway.port, host=f"greenroom.lan:{gateway.port}",
                                          origin="http://localhost:3000"))
    assert (status, headers["upgrade"]) == (101, "websocket")


async def test_a_page_may_administer_only_after_presenting_the_token(
    make_gateway: GatewayFactory,
) -> None:
    page_origin = "https://admin.example"
    open_server, _ = await make_gateway(allowed_origins=(page_origin,))
    token_server, _ = await make_gateway(token=TOKEN, allowed_origins=(page_origin,))
    async with open_peer(open_server, origin=page_origin) as page:
        refused = await page.request("workers_request")
    async with open_peer(token_server, origin=page_origin) as page:
        await page.request("hello", protocol_version=1, token=TOKEN)
        served = await page.request("workers_request")
    assert refused["error_code"] == "forbidden"
    assert served["message_type"] == "workers_response"


async def test_two_authorization_headers_answer_401_not_500(
    make_gateway: GatewayFactory,
) -> None:
    gateway, _ = await make_gateway(token=TOKEN)
    status, _, body = await raw_request(
        gateway.port,
        websocket_handshake(gateway.port,
                            extra=f"\nAuthorization: Bearer {TOKEN}\nAuthorization: Bearer x"))
    assert status == 401
    assert "Authorization" in body


async def guess_with_header(port: int, token: str, source: str = "127.0.0.1") -> int:
    """The handshake's HTTP status for ``token`` sent from the local address ``source``."""
    try:
        async with connect(f"ws://127.0.0.1:{port}",
                           additional_headers={"Authorization": f"Bearer {token}"},
                           local_addr=(source, 0)):
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


async def test_token_guesses_across_reconnects_are_refused_with_429_after_five(
    make_gateway: GatewayFactory,
) -> None:
    gateway, _ = await make_gateway(token=TOKEN)
    guesses = [await guess_with_header(gateway.port, f"guess-{n}") for n in range(5)]
    assert guesses == [401] * 5
    assert await guess_with_header(gateway.port, TOKEN) == 429
    status, headers, body = await raw_request(
        gateway.port, f"GET /metrics HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer {TOKEN}")
    assert status == 429 and int(headers["retry-after"]) >= 1 and "retry in" in body


async def test_a_guesser_rotating_loopback_source_addresses_is_refused_after_five(
    make_gateway: GatewayFactory,
) -> None:
    """Linux lets any local program connect from any of 127.0.0.0/8; each address used to
    get five fresh guesses."""
    gateway, _ = await make_gateway(token=TOKEN)
    guesses = [await guess_with_header(gateway.port, f"guess-{n}", f"127.0.0.{n + 2}")
               for n in range(6)]
    assert guesses == [401] * 5 + [429]
    assert await guess_with_header(gateway.port, TOKEN, "127.0.0.1") == 429


async def test_hello_token_guesses_count_too_and_close_the_guessing_session(
    make_gateway: GatewayFactory,
) -> None:
    gateway, _ = await make_gateway(token=TOKEN)
    for _ in range(2):
        async with open_peer(gateway) as guesser:
            for _ in range(2):
                await guesser.request("hello", protocol_version=1, token="guess")
    async with open_peer(gateway) as guesser:
        answer = await guesser.request("hello", protocol_version=1, token="guess")
        await guesser.ws.wait_closed()
    assert answer["error_code"] == "unauthorized"
    assert guesser.ws.close_code == 1008 and "address" in (guesser.ws.close_reason or "")
    assert await guess_with_header(gateway.port, TOKEN) == 429


async def get_health(port: int, **kwargs: Any) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://127.0.0.1:{port}/healthz", **kwargs)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


async def test_with_a_token_healthz_shows_only_the_status_unless_the_token_is_sent(
    make_gateway: GatewayFactory,
) -> None:
    gateway, pool = await make_gateway(token=TOKEN)
    await pool.ensure("alpha")
    public = await get_health(gateway.port)
    full = await get_health(gateway.port, headers={"Authorization": f"Bearer {TOKEN}"})
    assert public == {"status": "ok"}
    assert [w["character_id"] for w in full["workers"]] == ["alpha"] and "sessions" in full


async def test_the_admin_client_shows_why_the_gateway_refused_it(
    make_gateway: GatewayFactory,
) -> None:
    gateway, _ = await make_gateway(token=TOKEN)
    for n in range(5):
        await guess_with_header(gateway.port, f"guess-{n}")
    with pytest.raises(AdminError) as refused:
        await admin_request(url_of(gateway), WorkersRequest(message_id="ps"), token=TOKEN)
    assert refused.value.code == "refused"
    assert "HTTP 429" in str(refused.value) and "too many wrong tokens" in str(refused.value)
