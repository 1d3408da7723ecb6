"""Prometheus metrics of one gateway, in a registry of its own.

A per-gateway ``CollectorRegistry`` (not the process-global default) so two gateways in one
process (tests, benchmarks) never share or clash over series. Values that already live
elsewhere — worker restarts in the pool, queue depths in the turn queue and session outboxes —
are read at scrape time by a collector instead of being mirrored on every change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from protocol.errors import ErrorResponse
from protocol.unions import ServerMessage
from supervisor.pool.api import WorkerSnapshot

OK_CODE = "ok"
"""The ``code`` label of a request answered without ``error_response``."""

INVALID_TYPE = "invalid"
"""The ``message_type`` label of a frame that could not be decoded."""


def code_of(answer: ServerMessage) -> str:
    """The ``code`` label of a final answer: its error code, or ``ok``."""
    return answer.error_code if isinstance(answer, ErrorResponse) else OK_CODE


_LATENCY_BUCKETS_S = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)


class _LiveValues(Collector):
    """Scrape-time gauges and counters read from the pool and the gateway's queues."""

    def __init__(
        self,
        snapshots: Callable[[], Iterable[WorkerSnapshot]],
        turn_queue_depths: Callable[[], Mapping[str, int]],
        send_queue_frames: Callable[[], int],
    ) -> None:
        self._snapshots = snapshots
        self._turn_queue_depths = turn_queue_depths
        self._send_queue_frames = send_queue_frames

    def collect(self) -> Iterable[Metric]:
        restarts = CounterMetricFamily(
            "greenroom_worker_restarts",
            "Restarts of each character's worker since the supervisor started.",
            labels=["character"],
        )
        up = GaugeMetricFamily(
            "greenroom_worker_state",
            "1 for the current state of each character's worker.",
            labels=["character", "state"],
        )
        for snapshot in self._snapshots():
            restarts.add_metric([snapshot.character_id], snapshot.restarts)
            up.add_metric([snapshot.character_id, snapshot.state], 1)
        depths = GaugeMetricFamily(
            "greenroom_gateway_turn_queue_depth",
            "Turns waiting behind the active one, per character.",
            labels=["character"],
        )
        for character_id, depth in sorted(self._turn_queue_depths().items()):
            depths.add_metric([character_id], depth)
        outbox = GaugeMetricFamily(
            "greenroom_gateway_send_queue_frames",
            "Frames waiting in all sessions' send queues.",
            value=self._send_queue_frames(),
        )
        return [restarts, up, depths, outbox]


class GatewayMetrics:
    """The gateway's counters and histograms; ``render()`` is the ``/metrics`` body."""

    def __init__(
        self,
        *,
        snapshots: Callable[[], Iterable[WorkerSnapshot]],
        turn_queue_depths: Callable[[], Mapping[str, int]],
        send_queue_frames: Callable[[], int],
    ) -> None:
        self.registry = CollectorRegistry()
        self.sessions = Gauge(
            "greenroom_gateway_sessions",
            "Open WebSocket sessions.",
            registry=self.registry,
        )
        self.requests = Counter(
            "greenroom_gateway_requests",
            "Requests answered, by message type and outcome code (ok or the error code).",
            ["message_type", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "greenroom_gateway_request_latency_seconds",
            "From a request's arrival to its final answer, by message type.",
            ["message_type"],
            buckets=_LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.sessions_kicked = Counter(
            "greenroom_gateway_sessions_closed_for_overflow",
            "Sessions closed because they could not keep up with their send queue.",
            registry=self.registry,
        )
        self.registry.register(_LiveValues(snapshots, turn_queue_depths, send_queue_frames))
        # labels() takes a lock and builds a key on every call; the label sets are few
        # (message types x codes), so their children are cached on the hot path.
        self._counters: dict[tuple[str, str], Counter] = {}
        self._histograms: dict[str, Histogram] = {}

    def answered(self, message_type: str, code: str, latency_s: float | None) -> None:
        """Count one answer; ``latency_s`` (seconds since the request arrived) when known."""
        counter = self._counters.get((message_type, code))
        if counter is None:
            counter = self.requests.labels(message_type=message_type, code=code)
            self._counters[(message_type, code)] = counter
        counter.inc()
        if latency_s is not None:
            histogram = self._histograms.get(message_type)
            if histogram is None:
                histogram = self.latency.labels(message_type=message_type)
                self._histograms[message_type] = histogram
            histogram.observe(latency_s)

    def render(self) -> str:
        return generate_latest(self.registry).decode("utf-8")
