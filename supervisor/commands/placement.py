"""Where the characters run: ``--placement local|ray`` and ``--ray-address``, and the pool
each placement gives the gateway (the gateway itself never knows which one it has).

``local`` (the default): the fork server and one child process per character, over pipes
(``supervisor.pool.worker_pool``). ``ray``: one Ray actor per character, supervised by the
cluster's one cast (``supervisor.pool.ray_pool``); without ``--ray-address`` a local Ray head
is started on 127.0.0.1 and stopped with ``serve``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

import click

from protocol.states import WorkerState
from runtime.settings import Settings
from supervisor.logs.sink import LogSink
from supervisor.pool.api import PoolListener, WorkerPoolApi, WorkerSnapshot
from supervisor.pool.supervised_worker import DebugConfig

PlacementName = Literal["local", "ray"]


@dataclass(frozen=True, slots=True)
class Placement:
    name: PlacementName = "local"
    ray_address: str | None = None


LOCAL = Placement()


class PlacedPool(WorkerPoolApi, Protocol):
    """What ``serve`` and ``gateway`` need of a pool beyond the gateway's boundary."""

    listener: PoolListener

    async def start(self) -> None: ...

    async def preload(self, character_ids: Iterable[str]) -> dict[str, WorkerState]: ...

    async def close(self, grace_s: float | None = None) -> None: ...

    def snapshots(self) -> list[WorkerSnapshot]: ...


def started_note(pool: PlacedPool) -> str | None:
    """What ``serve`` says once its pool has started: where other gateways join."""
    from supervisor.pool.ray_pool import RayPool

    if isinstance(pool, RayPool) and pool.joined_address is not None:
        return (f"greenroom characters run as Ray actors (cluster {pool.joined_address}); "
                "more gateways: greenroom gateway --placement ray --ray-address "
                f"{pool.joined_address}")
    return None


def placed_pool(settings: Settings, placement: Placement, sink: LogSink | None,
                debug: dict[str, DebugConfig], *, owns_cast: bool = True) -> PlacedPool:
    """The pool of ``placement``. Ray's modules are imported only for ``ray``."""
    if placement.name == "ray":
        from supervisor.pool.ray_cluster import RayCluster
        from supervisor.pool.ray_pool import RayPool

        return RayPool(settings, RayCluster(placement.ray_address), owns_cast=owns_cast,
                       sink=sink)
    from supervisor.pool.worker_pool import WorkerPool

    return WorkerPool(settings, sink=sink, debug=debug)


F = TypeVar("F", bound=Callable[..., Any])


def placement_options(command: F) -> F:
    """``--placement`` and ``--ray-address``, given to the command as ``placement``."""

    @click.option("--placement", "placement_name", type=click.Choice(["local", "ray"]),
                  default="local", show_default=True,
                  help="local: a fork server and one child process per character; ray: one "
                       "Ray actor per character.")
    @click.option("--ray-address", default=None, metavar="HOST:PORT",
                  help="The Ray cluster to join (`ray start --head` prints it); without it, "
                       "--placement ray starts a local head on 127.0.0.1.")
    @functools.wraps(command)
    def wrapper(*args: Any, placement_name: PlacementName, ray_address: str | None,
                **kwargs: Any) -> Any:
        if ray_address is not None and placement_name != "ray":
            raise click.UsageError("--ray-address needs --placement ray")
        return command(*args, placement=Placement(placement_name, ray_address), **kwargs)

    return wrapper  # type: ignore[return-value]
