"""Two simulated Ray nodes (``ray.cluster_utils.Cluster``, loopback only) behind one real
gateway: a character whose node dies comes back on the other node with its data.

Both worker nodes carry the label ``greenroom-data=shared`` and every character is pinned to
it (``GREENROOM_RAY_PINS=*=shared``), so characters never run on the head (which only holds
the cast) and move between the two labelled nodes. On one machine the data directory is
shared by construction: this is the shared-directory layout with nodes chosen by label.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from runtime.settings import load_settings
from supervisor.gateway.gateway import Gateway
from supervisor.pool.ray_cluster import LOOPBACK, RayCluster
from supervisor.pool.ray_pool import RayPool
from tests.support.json_peer import attach, open_peer
from tests.support.paths import BUNDLED_CHARACTERS

pytestmark = [
    pytest.mark.process,
    pytest.mark.xdist_group("ray"),  # one Ray head at a time on the machine
    pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                       reason="ray is not installed (pip install 'greenroom[ray]')"),
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.timeout(180),
]

LABEL = {"greenroom-data": "shared"}


def start_cluster() -> tuple[Any, list[Any]]:
    # Before Ray is first imported: its node addresses stay 127.0.0.1 (ray_cluster.py).
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_AUTH_MODE", "token")
    os.environ.setdefault("RAY_gcs_server_port_wait_time_s", "120")  # a busy 2-core machine
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "node_ip_address": LOOPBACK, "include_dashboard": False})
    nodes = [cluster.add_node(num_cpus=0, node_ip_address=LOOPBACK, labels=LABEL)
             for _ in range(2)]
    cluster.wait_for_nodes()
    return cluster, nodes


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Any, Any]]:
    cluster, nodes = start_cluster()  # Ray's node start wants the main thread
    data_dir: Path = tmp_path_factory.mktemp("nodes") / "data"
    settings = load_settings(
        {"data_dir": data_dir, "characters_dir": BUNDLED_CHARACTERS, "port": 0,
         "ray_pins": "*=shared", "heartbeat_interval_s": 0.5, "ready_timeout_s": 60.0},
        environ={}, dotenv_path=data_dir / "none.env")
    pool = RayPool(settings, RayCluster(cluster.address))
    door = Gateway(settings, pool)
    pool.listener = door
    try:
        await pool.start()
        await door.start()
        yield door, (cluster, nodes)
        await door.close(1.0)
    finally:
        await pool.close(1.0)
        cluster.shutdown()


async def test_a_character_whose_node_dies_comes_back_on_the_other_node_with_its_data(
    gateway: tuple[Any, Any],
) -> None:
    door, (cluster, nodes) = gateway
    url = f"ws://127.0.0.1:{door.port}"
    async with open_peer(url) as peer:
        await attach(peer, "zen-master", subscribe=("worker_state",), timeout_s=90.0)
        said = await peer.request("chat_request", user_message="Remember the cedar tree.",
                                  timeout_s=30.0)
        assert said["message_type"] == "chat_response", said
        before = {w["character_id"]: w for w in
                  (await peer.request("workers_request"))["workers"]}["zen-master"]
        short_id = before["node"].split("@")[0]
        node = next((n for n in nodes if n.node_id.startswith(short_id)), None)
        assert node is not None, (before, [n.node_id for n in nodes])
        cluster.remove_node(node, allow_graceful=False)

        back = await peer.next_event(lambda f: f["message_type"] == "worker_state_event"
                                     and f["state"] == "ready", 90.0)
        # Until Ray's health check declares the node dead, a new actor may still be placed on
        # it and die too: one more restart, which the restart policy absorbs.
        assert back["generation"] > before["generation"]
        after = {w["character_id"]: w for w in
                 (await peer.request("workers_request"))["workers"]}["zen-master"]
        assert after["node"] != before["node"]
        history = await peer.request("status_request", include_history=True)
        assert "Remember the cedar tree." in [
            turn["user_message"] for turn in history["conversation_history"]]
