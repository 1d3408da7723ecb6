"""Every connection's HTTP request, before any WebSocket upgrade: who may open a session, and
the plain ``/healthz`` and ``/metrics`` endpoints on the same port.

``Handshake.process_request`` is websockets' ``process_request`` hook. Every request: the
``Host`` must name this gateway (DNS rebinding → 403). WebSocket handshakes: the ``Origin``
must be absent, loopback on this port, or allowed (→ 403). With a token set: an address
refused by the throttle gets 429, a wrong or repeated ``Authorization`` header 401 (it counts
as a failed guess). Each refusal is answered with a one-line reason; its ``handshake_refused``
record is rate-limited (``refusal_log.py``), the suppressed counts written when their window
ends, even if no refusal follows.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import urlsplit

import structlog
from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from runtime.settings import Settings
from supervisor.gateway.access import bearer_token, host_refusal, origin_refusal, token_matches
from supervisor.gateway.auth_throttle import AuthThrottle
from supervisor.gateway.http_endpoints import (
    PROMETHEUS_CONTENT_TYPE,
    json_response,
    public_health,
    respond,
)
from supervisor.gateway.refusal_log import RefusalKey, RefusalLogLimiter, Suppressed

HTTP_PATHS: Final = frozenset({"/healthz", "/metrics"})
"""Plain HTTP endpoints; every other path is a WebSocket handshake."""

HealthDocument = Callable[[], tuple[HTTPStatus, dict[str, Any]]]


def address_of(connection: ServerConnection) -> str:
    """The peer's IP address (no port); the token throttle groups it (``source_of``)."""
    remote = connection.remote_address
    return str(remote[0]) if isinstance(remote, tuple) and remote else str(remote)


class Handshake:
    """The ``process_request`` hook of one gateway (see the module docstring).

    ``port`` reads the bound port (known once the server listens); ``tls`` is set before the
    server starts. ``health`` and ``metrics_text`` render the two endpoints' documents.
    """

    def __init__(
        self,
        settings: Settings,
        throttle: AuthThrottle,
        clock: Callable[[], float],
        *,
        port: Callable[[], int],
        health: HealthDocument,
        metrics_text: Callable[[], str],
    ) -> None:
        self._settings = settings
        self._throttle = throttle
        self._clock = clock
        self._port = port
        self._health = health
        self._metrics_text = metrics_text
        self.tls = False
        self._refusal_log = RefusalLogLimiter(clock)
        self._refusal_flush: asyncio.TimerHandle | None = None
        self._stopped = False
        self._log = structlog.get_logger("greenroom.gateway")

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """``None`` lets a WebSocket handshake go on; a ``Response`` answers the request."""
        path = urlsplit(request.path).path
        headers = request.headers
        refusal = host_refusal(
            headers.get_all("Host"),
            bind_host=self._settings.gateway.host,
            allowed=self._settings.gateway.allowed_hosts,
        )
        if refusal is None and path not in HTTP_PATHS:
            refusal = origin_refusal(
                headers.get_all("Origin"),
                port=self._port(),
                tls=self.tls,
                allowed=self._settings.gateway.allowed_origins,
            )
        if refusal is not None:
            return self._refuse(connection, request, HTTPStatus.FORBIDDEN, refusal)
        address = address_of(connection)
        retry_after = self._throttle.retry_after(address)
        if path == "/healthz":
            status, document = self._health()
            if self._settings.gateway.token is not None and (
                retry_after > 0 or not self._check_header_token(headers, address)
            ):
                document = public_health(document)
            return json_response(connection, status, document)
        if retry_after > 0:
            response = self._refuse(
                connection,
                request,
                HTTPStatus.TOO_MANY_REQUESTS,
                f"too many wrong tokens from {address} (or from all addresses together); "
                f"retry in {math.ceil(retry_after)} s",
            )
            response.headers["Retry-After"] = str(math.ceil(retry_after))
            return response
        header_token = self._check_header_token(headers, address)
        if path == "/metrics":
            if not header_token:
                return self._refuse(
                    connection,
                    request,
                    HTTPStatus.UNAUTHORIZED,
                    "/metrics needs 'Authorization: Bearer <GREENROOM_TOKEN>'",
                )
            return respond(connection, HTTPStatus.OK, self._metrics_text(),
                           PROMETHEUS_CONTENT_TYPE)
        if header_token is False:
            return self._refuse(
                connection,
                request,
                HTTPStatus.UNAUTHORIZED,
                "Wrong token in the Authorization header (or more than one header); send one "
                "'Authorization: Bearer <GREENROOM_TOKEN>' or omit it and use hello.token",
            )
        return None

    def header_token(self, headers: Headers) -> bool | None:
        """With a token configured: ``None`` without an ``Authorization`` header, else whether
        exactly one header carries the token. ``True`` when no token is configured."""
        expected = self._settings.gateway.token
        if expected is None:
            return True
        values = headers.get_all("Authorization")
        if not values:
            return None
        return len(values) == 1 and token_matches(bearer_token(values[0]), expected)

    def stop(self) -> None:
        """At shutdown: write the counts of the windows still open, and arm no more timers."""
        self._stopped = True
        if self._refusal_flush is not None:
            self._refusal_flush.cancel()
            self._refusal_flush = None
        self._log_suppressed(self._refusal_log.drain())

    def _check_header_token(self, headers: Headers, address: str) -> bool | None:
        """``header_token``, counting a presented token for or against ``address``."""
        verdict = self.header_token(headers)
        if verdict is False:
            self._throttle.failed(address)
        elif verdict and self._settings.gateway.token is not None:
            self._throttle.succeeded(address)
        return verdict

    def _refuse(
        self, connection: ServerConnection, request: Request, status: HTTPStatus, reason: str
    ) -> Response:
        """An HTTP refusal with a one-line reason, and its ``handshake_refused`` record — the
        first of its kind per minute; the rest are counted."""
        headers = request.headers
        origin = ", ".join(headers.get_all("Origin")) or None
        host = ", ".join(headers.get_all("Host")) or None
        log_it, ended = self._refusal_log.refused(
            RefusalKey(int(status), origin, None if origin else host)
        )
        self._log_suppressed(ended)
        if log_it:
            self._log.warning(
                "handshake_refused",
                status=int(status),
                reason=reason,
                path=request.path,
                origin=origin,
                host=host,
                remote=str(connection.remote_address),
            )
        self._arm_refusal_flush()
        return respond(connection, status, reason + "\n", "text/plain; charset=utf-8")

    def _log_suppressed(self, ended: list[Suppressed]) -> None:
        for suppressed in ended:
            key = suppressed.key
            self._log.warning(
                "handshake_refused_suppressed",
                count=suppressed.count,
                window_s=suppressed.window_s,
                **(
                    {"status": key.status, "origin": key.origin, "host": key.host}
                    if key is not None
                    else {"kinds": "other (too many kinds at once)"}
                ),
            )

    def _arm_refusal_flush(self) -> None:
        """Write each window's suppressed count when it ends, even if no refusal follows."""
        due = self._refusal_log.next_end()
        if due is None or self._refusal_flush is not None or self._stopped:
            return
        self._refusal_flush = asyncio.get_running_loop().call_later(
            max(0.0, due - self._clock()), self._flush_refusals
        )

    def _flush_refusals(self) -> None:
        self._refusal_flush = None
        self._log_suppressed(self._refusal_log.expire())
        self._arm_refusal_flush()
