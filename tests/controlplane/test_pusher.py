"""Pushing: who is connected (streams counted per node), unusable node ids, the test hook, and
the sync wait's timeout."""

from __future__ import annotations

import asyncio
from typing import Any

from push_mesh import MESH, node

from sailmesh.app.backend import MeshApi
from sailmesh.controlplane.server import ControlPlane, ControlPlaneSettings
from sailmesh.snapshot.proxy import Proxy
from sailmesh.typeurls import CLUSTER


def _control_plane() -> ControlPlane:
    cp = ControlPlane(ControlPlaneSettings(debounce_quiet=0.01, debounce_max=0.1))
    MeshApi(cp).apply_yaml(MESH, "mesh.yaml", "default")
    return cp


def test_a_node_stays_connected_until_its_last_stream_closes() -> None:
    cp = _control_plane()
    one = node("reviews", 1)
    cp.connect(one)
    cp.connect(one)  # a second stream of the same Envoy
    assert list(cp.connected) == [one.id] and cp.cache.get(one.id) is not None
    cp.disconnect(one)
    assert list(cp.connected) == [one.id]
    cp.disconnect(one)
    assert cp.connected == {}


def test_a_node_with_an_unusable_id_is_ignored() -> None:
    from envoy.config.core.v3 import base_pb2

    cp = _control_plane()
    bad = base_pb2.Node(id="not-a-node-id")
    cp.connect(bad)
    assert cp.connected == {} and cp.cache.get(bad.id) is None


def test_the_resource_hook_rewrites_what_is_served() -> None:
    cp = _control_plane()
    seen: list[str] = []

    def hook(proxy: Proxy, resources: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        seen.append(proxy.pod_name)
        return {**resources, CLUSTER: {}}

    cp.resource_hook = hook
    one = node("reviews", 1)
    cp.connect(one)
    served = cp.cache.get(one.id)
    assert seen == ["reviews-1"] and served is not None
    assert dict(served.of(CLUSTER).packed) == {}
    cp.resource_hook = None
    cp.refresh()
    refreshed = cp.cache.get(one.id)
    assert refreshed is not None and refreshed.of(CLUSTER).packed


def test_wait_synced_times_out_while_a_connected_proxy_has_no_stream() -> None:
    async def scenario() -> bool:
        cp = _control_plane()
        await cp.start()
        try:
            cp.connect(node("reviews", 1))  # connected, but no ADS stream ever acknowledges
            return await cp.wait_synced(timeout=0.2)
        finally:
            await cp.stop()

    assert asyncio.run(scenario()) is False
