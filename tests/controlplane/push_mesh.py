"""The small bookinfo-shaped mesh the push-sharing and push-carry tests translate: services,
workloads, sidecar proxies, config loading, and a control plane's nodes and pushes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from config_support.manifests import manifests
from sailmesh.ads.resources import CLUSTER, ENDPOINT, LISTENER, ROUTE, ResourceSnapshot
from sailmesh.app.backend import MeshApi
from sailmesh.config.load import load_text
from sailmesh.config.resource import Resource
from sailmesh.controlplane.server import ControlPlane, ControlPlaneSettings
from sailmesh.registry.model import Service, ServicePort, Workload, frozen_map
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.xds.options import TranslateOptions
from sailmesh.xds.translate import translate

TYPES = (CLUSTER, ENDPOINT, LISTENER, ROUTE)
APPS = ("productpage", "reviews", "ratings", "details")

REVIEWS_DR = manifests("""
DestinationRule default/reviews
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
""")


def services(tcp_db: bool = False) -> list[Service]:
    """An HTTP service on 9080 per app (VIPs 10.96.0.10..), and with ``tcp_db`` a TCP ``db``."""
    out = [
        Service(
            hostname=f"{app}.default.svc.cluster.local",
            name=app,
            namespace="default",
            ports=(ServicePort("http", 9080, "HTTP"),),
            vip=f"10.96.0.{i + 10}",
            selector=frozen_map({"app": app}),
        )
        for i, app in enumerate(APPS)
    ]
    if tcp_db:
        out.append(
            Service(
                hostname="db.default.svc.cluster.local",
                name="db",
                namespace="default",
                ports=(ServicePort("tcp", 9000, "TCP"),),
                vip="10.96.0.99",
                selector=frozen_map({"app": "db"}),
            )
        )
    return out


def workloads() -> list[Workload]:
    """A v1 and a v2 workload per app."""
    return [
        Workload(
            name=f"{app}-{version}",
            namespace="default",
            address=f"10.244.{i}.{n}",
            labels=frozen_map({"app": app, "version": version}),
        )
        for i, app in enumerate(APPS)
        for n, version in ((1, "v1"), (2, "v2"))
    ]


def load(*texts: str) -> list[Resource]:
    """The config objects of YAML texts (all valid)."""
    out: list[Resource] = []
    for text in texts:
        loaded = load_text(text)
        assert loaded.ok, loaded.problems
        out += loaded.resources
    return out


def proxy(app: str, n: int = 1, namespace: str = "default", **kw: object) -> Proxy:
    """Sidecar ``<app>-<n>`` (labels ``app``, ``version: v1``)."""
    return Proxy(
        type="sidecar",
        ip=f"10.250.{APPS.index(app) if app in APPS else 9}.{n}",
        pod_name=f"{app}-{n}",
        namespace=namespace,
        labels=frozen_map({"app": app, "version": "v1"}),
        **kw,  # type: ignore[arg-type]
    )


def alone(proxy: Proxy, snapshot: MeshSnapshot, options: TranslateOptions) -> ResourceSnapshot:
    """What ``proxy`` gets translated on its own, nothing shared or carried."""
    return ResourceSnapshot.build(translate(proxy, snapshot, options=options))


# --- through the control plane ------------------------------------------------------------
MESH = manifests("""
Service default/reviews
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
Service default/ratings
  selector: {app: ratings}
  ports: [{name: http, port: 9080}]
---
WorkloadEntry default/reviews-1
spec: {address: 10.0.0.1, labels: {app: reviews, version: v1}}
""")


def node(app: str, n: int) -> Any:
    """The Envoy ``Node`` of sidecar ``<app>-<n>``."""
    from envoy.config.core.v3 import base_pb2

    out = base_pb2.Node(id=f"sidecar~10.250.0.{n}~{app}-{n}.default~default.svc.cluster.local")
    out.metadata.update({"LABELS": {"app": app}, "NAMESPACE": "default"})
    return out


async def push_after(cp: Any, pushes: int) -> None:
    """Wait (2 s at most) until the control plane has pushed more than ``pushes`` times."""
    for _ in range(200):
        if cp.pushes > pushes:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no push after {pushes}")


@contextlib.asynccontextmanager
async def connected_control_plane(nodes: Sequence[Any]) -> AsyncIterator[ControlPlane]:
    """A started control plane holding :data:`MESH`, with ``nodes`` connected to it."""
    cp = ControlPlane(ControlPlaneSettings(debounce_quiet=0.01, debounce_max=0.1))
    MeshApi(cp).apply_yaml(MESH, "mesh.yaml", "default")
    await cp.start()
    try:
        for one in nodes:
            cp.connect(one)
        yield cp
    finally:
        await cp.stop()


async def apply_and_wait_push(cp: ControlPlane, text: str) -> None:
    """Apply ``text`` through the API backend and wait for the push it causes."""
    pushes = cp.pushes
    MeshApi(cp).apply_yaml(text, "change.yaml", "default")
    await push_after(cp, pushes)


def assert_served_as_translated_alone(
    cp: ControlPlane, nodes: Sequence[Any], options: TranslateOptions
) -> None:
    """Every node's served snapshot has the versions of a translation of its proxy alone."""
    snapshot = cp.snapshot()
    for one in nodes:
        now = cp.cache.get(one.id)
        assert now is not None
        expected = alone(cp.connected[one.id], snapshot, options)
        assert all(now.version(t) == expected.version(t) for t in TYPES)
