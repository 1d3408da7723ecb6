"""The gateway: client WebSocket sessions, routing to character workers, events, limits,
auth, and the ``/healthz`` and ``/metrics`` endpoints. See ``docs/gateway.md``."""
