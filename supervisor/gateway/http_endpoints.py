"""Plain HTTP on the WebSocket port: ``GET /healthz`` and ``GET /metrics``.

Served from the handshake hook (``process_request``), before any WebSocket upgrade, so a
load balancer or Prometheus needs nothing but HTTP/1.1.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Response

from supervisor.pool.api import WorkerSnapshot

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def health_document(
    snapshots: Iterable[WorkerSnapshot], *, sessions: int, stopping: bool
) -> tuple[HTTPStatus, dict[str, Any]]:
    """The ``/healthz`` status and body.

    ``status`` is ``ok``; ``degraded`` when some character is quarantined (``failed``) while
    the gateway serves the others; ``stopping`` (HTTP 503) during graceful shutdown.
    """
    workers = [
        {
            "character_id": s.character_id,
            "state": s.state,
            "pid": s.pid,
            "generation": s.generation,
            "restarts": s.restarts,
            "uptime_s": None if s.uptime_s is None else round(s.uptime_s, 3),
        }
        for s in sorted(snapshots, key=lambda s: s.character_id)
    ]
    if stopping:
        status, http_status = "stopping", HTTPStatus.SERVICE_UNAVAILABLE
    elif any(w["state"] == "failed" for w in workers):
        status, http_status = "degraded", HTTPStatus.OK
    else:
        status, http_status = "ok", HTTPStatus.OK
    return http_status, {"status": status, "sessions": sessions, "workers": workers}


def public_health(document: dict[str, Any]) -> dict[str, Any]:
    """``/healthz`` for a caller without the token when one is set: the status alone, no
    character ids, pids or counts."""
    return {"status": document["status"]}


def respond(
    connection: ServerConnection, status: HTTPStatus, body: str, content_type: str
) -> Response:
    response = connection.respond(status, body)
    # respond() sets text/plain; Headers is a multi-dict, so replace rather than add.
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = content_type
    return response


def json_response(
    connection: ServerConnection, status: HTTPStatus, document: dict[str, Any]
) -> Response:
    return respond(connection, status, json.dumps(document) + "\n", "application/json")
