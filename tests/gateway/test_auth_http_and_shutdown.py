"""Tokens, origins, TLS, the HTTP endpoints, and graceful shutdown."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from runtime.settings import Settings
from supervisor.gateway.access import GatewayConfigError
from supervisor.gateway.gateway import Gateway
from tests.gateway.conftest import GatewayFactory, open_peer, start_held_chat, url_of
from tests.gateway.in_process_pool import InProcessPool

TOKEN = "correct horse battery staple"


async def test_without_the_token_every_request_is_unauthorized(
    make_gateway: GatewayFactory,
) -> None:
    gateway, _ = await make_gateway(token=TOKEN)
    async with open_peer(gateway) as client:
        ping = await client.request("ping_request")
        init = await client.request("init_request", character_id="alpha")
    assert ping["error_code"] == init["error_code"] == "unauthorized"


async def test_hello_with_the_token_is_served(make_gateway: GatewayFactory) -> None:
    gateway, _ = await make_gateway(token=TOKEN)
    async with open_peer(gateway) as client:
        hello = await client.request("hello", protocol_version=1, token=TOKEN)
        status = await client.request("init_request", character_id="alpha")
    assert hello["message_type"] == "hello_response"
    assert status["message_type"] == "init_response"


async def test_hello_with_a_wrong_token_is_unauthorized_and_repeated_failures_close(
    make_gateway: GatewayFactory,
) -> None:
    gateway, _ = await make_gateway(token=TOKEN)
    async with open_peer(gateway) as client:
        answers = [await client.request("hello", protocol_version=1, token="guess")
                   for _ in range(3)]
        with pytest.raises(ConnectionClosed):
            await client.recv()
        assert client.ws.close_code == 1008
    assert {a["error_code"] for a in answers} == {"unauthorized"}


async def test_bearer_header_authenticates_a_seed_era_client(make_gateway: GatewayFactory) -> None:
    gateway, _ = await make_gateway(token=TOKEN)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with open_peer(gateway, additional_headers=headers) as client:
        answer = await client.request("init_request", character_id="alpha")
    assert answer["message_type"] == "init_response"


async def test_wrong_bearer_header_is_refused_at_the_handshake(
    make_gateway: GatewayFactory,
) -> None:
    gateway, _ = await make_gateway(token=TOKEN)
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url_of(gateway), additional_headers={"Authorization": "Bearer no"}):
            pass
    assert refused.value.response.status_code == 401


async def test_admin_requests_need_the_token_when_one_is_set(make_gateway: GatewayFactory) -> None:
    gateway, _ = await make_gateway(token=TOKEN)
    async with open_peer(gateway) as anonymous:
        refused = await anonymous.request("restart_request", character_id="alpha")
    async with open_peer(gateway) as admin:
        await admin.request("hello", protocol_version=1, token=TOKEN)
        await admin.request("init_request", character_id="alpha")
        restarted = await admin.request("restart_request", character_id="alpha")
    assert refused["error_code"] == "unauthorized"
    assert restarted["message_type"] == "restart_response"


async def test_non_loopback_bind_without_token_refuses_to_start() -> None:
    gateway = Gateway(Settings.from_flat(host="0.0.0.0", port=0), InProcessPool(set()))
    with pytest.raises(GatewayConfigError, match="GREENROOM_TOKEN"):
        await gateway.start()


async def test_origin_outside_the_allowed_list_is_refused(make_gateway: GatewayFactory) -> None:
    gateway, _ = await make_gateway(allowed_origins=("https://app.example",))
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url_of(gateway), origin="https://evil.example"):  # type: ignore[arg-type]
            pass
    async with open_peer(gateway, origin="https://app.example") as browser:
        assert (await browser.request("ping_request"))["message_type"] == "ping_response"
    assert refused.value.response.status_code == 403


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 and its key, made by the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.mark.process
async def test_tls_serves_wss_with_the_configured_certificate(
    self_signed: tuple[Path, Path], make_gateway: GatewayFactory
) -> None:
    cert, key = self_signed
    gateway, _ = await make_gateway(tls_cert=cert, tls_key=key)
    client_context = ssl.create_default_context(cafile=str(cert))
    async with connect(f"wss://127.0.0.1:{gateway.port}", ssl=client_context) as ws:
        await ws.send('{"message_type": "ping_request", "message_id": "t"}')
        assert '"ping_response"' in str(await ws.recv())


async def test_healthz_reports_workers_and_states(
    gateway_and_pool: tuple[Gateway, InProcessPool],
) -> None:
    gateway, pool = gateway_and_pool
    await pool.ensure("alpha")
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://127.0.0.1:{gateway.port}/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert [(w["character_id"], w["state"]) for w in body["workers"]] == [("alpha", "ready")]


async def test_metrics_expose_sessions_requests_latency_and_restarts(
    gateway_and_pool: tuple[Gateway, InProcessPool],
) -> None:
    gateway, pool = gateway_and_pool
    async with open_peer(gateway) as client:
        await client.request("init_request", character_id="alpha")
        await client.request("status_request")
        pool.crash("alpha")
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"http://127.0.0.1:{gateway.port}/metrics")).text
    assert "greenroom_gateway_sessions 1.0" in text
    assert 'greenroom_gateway_requests_total{code="ok",message_type="status_request"} 1.0' in text
    assert 'greenroom_gateway_request_latency_seconds_count{message_type="status_request"}' in text
    assert 'greenroom_worker_restarts_total{character="alpha"} 1.0' in text
    assert "greenroom_gateway_turn_queue_depth" in text


async def test_metrics_need_the_token_when_one_is_set(make_gateway: GatewayFactory) -> None:
    gateway, _ = await make_gateway(token=TOKEN)
    url = f"http://127.0.0.1:{gateway.port}/metrics"
    async with httpx.AsyncClient() as http:
        refused = await http.get(url)
        served = await http.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert (refused.status_code, served.status_code) == (401, 200)


async def test_close_lets_the_in_flight_turn_finish_then_says_goodbye_with_1001(
    gateway_and_pool: tuple[Gateway, InProcessPool],
) -> None:
    gateway, pool = gateway_and_pool
    async with open_peer(gateway) as client:
        chat_id = await start_held_chat(client, pool, "finish me")
        closing = asyncio.create_task(gateway.close(grace_s=10))
        refused = await client.request("ping_request")
        pool.release_chats()
        final = await client.recv()
        with pytest.raises(ConnectionClosed):
            await client.recv()
        await closing
    assert refused["error_code"] == "shutting_down"
    assert (final["message_type"], final["message_id"]) == ("chat_response", chat_id)
    assert client.ws.close_code == 1001
    assert client.ws.close_reason == "greenroom is shutting down"


async def test_close_cancels_turns_that_outlive_the_grace_period(
    gateway_and_pool: tuple[Gateway, InProcessPool],
) -> None:
    gateway, pool = gateway_and_pool
    async with open_peer(gateway) as client:
        chat_id = await start_held_chat(client, pool, "never ends")
        await gateway.close(grace_s=0.05)
        final = await client.recv()
        with pytest.raises(ConnectionClosed):
            await client.recv()
    assert (final["error_code"], final["message_id"]) == ("shutting_down", chat_id)
    assert client.ws.close_code == 1001
    assert any(type(f).__name__ == "WorkerCancel" for _, f in pool.sent)
