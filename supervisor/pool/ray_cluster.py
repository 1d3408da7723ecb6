"""``RayCluster``: this process's connection to Ray — a local head it starts, or a cluster.

Without an address, ``connect`` starts a local head (``ray.init``) bound to loopback with the
dashboard off, and ``disconnect`` stops it with every process it started. Ray turns
``127.0.0.1`` into the machine's outward address unless clusters are switched off, so the
local head also sets ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` (before Ray is imported): then
its node address is 127.0.0.1 and every one of its servers listens on loopback only. With an
address (``ray start --head`` printed it), ``connect`` joins that cluster and ``disconnect``
leaves it running. A loopback address is joined the same way (the switch again), so a
gateway on the head's machine reaches it on 127.0.0.1. Both use Ray's token authentication
(``RAY_AUTH_MODE=token`` unless set; the token is the user's ``~/.ray/auth_token``), so
another local user cannot drive the actors.

Ray is imported here, lazily: ``connect`` is the first thing that loads it.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from dataclasses import dataclass, field
from typing import Final

LOOPBACK: Final = "127.0.0.1"
_LOCAL_CLUSTER_ONLY: Final = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
_AUTH_MODE: Final = "RAY_AUTH_MODE"
_GCS_PORT_WAIT: Final = "RAY_gcs_server_port_wait_time_s"


class RayMissing(RuntimeError):
    """``ray`` is not installed."""


@dataclass(slots=True)
class RayCluster:
    """``address``: a running cluster's ``HOST:PORT`` (GCS), or ``None`` to start a local
    head; after ``connect`` it is the address other gateways join (``--ray-address``)."""

    address: str | None = None
    started_head: bool = field(default=False, init=False)

    def connect(self) -> None:
        """Start the local head or join ``address``. Raises ``RayMissing``."""
        local = self.address is None or _is_loopback(self.address)
        if local and "ray" not in sys.modules:
            os.environ[_LOCAL_CLUSTER_ONLY] = "0"
            # The local head asks every client for the token it keeps in ~/.ray/auth_token.
            os.environ.setdefault(_AUTH_MODE, "token")
            # Ray waits 30 s for its GCS to bind; a busy 2-core machine can take longer.
            os.environ.setdefault(_GCS_PORT_WAIT, "120")
        try:
            import ray
        except ImportError:
            raise RayMissing("--placement ray needs Ray: install it with "
                             "`pip install 'greenroom[ray]'`") from None
        from supervisor.pool.ray_cast import NAMESPACE

        if self.address is None:
            context = ray.init(_node_ip_address=LOOPBACK, include_dashboard=False,
                               namespace=NAMESPACE, log_to_driver=False,
                               configure_logging=False)
            self.started_head = True
            self.address = str(context.address_info["gcs_address"])  # type: ignore[attr-defined]
        else:
            ray.init(address=self.address, namespace=NAMESPACE, log_to_driver=False,
                     configure_logging=False,
                     _node_ip_address=LOOPBACK if _is_loopback(self.address) else None)

    def disconnect(self) -> None:
        """Leave the cluster; a head this process started stops, with its processes."""
        import ray

        if ray.is_initialized():
            ray.shutdown()


def _is_loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
