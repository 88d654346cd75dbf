"""Benchmark: translate + serialize the xDS resources of one sidecar for N services.

Each service has one HTTP port, two workloads (v1, v2), a DestinationRule with two subsets,
and every tenth one a VirtualService splitting traffic by header and weight.
"""

from __future__ import annotations

import time
from types import MappingProxyType

from sailmesh.config.load import load_text
from sailmesh.registry.convert import endpoint_for
from sailmesh.registry.model import Service, ServicePort, Workload, frozen_map
from sailmesh.registry.registry import RegistryView
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.xds.translate import translate

SIZES = (100, 1_000, 5_000)
TARGET_1000_S = 1.0

_CONFIG = """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: svc{i}, namespace: default}}
spec:
  host: svc{i}
  subsets:
  - {{name: v1, labels: {{version: v1}}}}
  - {{name: v2, labels: {{version: v2}}}}
"""
_VS = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: svc{i}, namespace: default}}
spec:
  hosts: [svc{i}]
  http:
  - match: [{{headers: {{end-user: {{exact: jason}}}}}}]
    route: [{{destination: {{host: svc{i}, subset: v2}}}}]
  - route:
    - {{destination: {{host: svc{i}, subset: v1}}, weight: 90}}
    - {{destination: {{host: svc{i}, subset: v2}}, weight: 10}}
"""


def build(n: int) -> MeshSnapshot:
    services, workloads, docs = [], [], []
    for i in range(n):
        services.append(
            Service(
                hostname=f"svc{i}.default.svc.cluster.local",
                namespace="default",
                ports=(ServicePort("http", 8080, "HTTP"),),
                vip=f"10.{96 + i // 65536}.{i // 256 % 256}.{i % 256}",
                name=f"svc{i}",
                selector=frozen_map({"app": f"svc{i}"}),
            )
        )
        for version in ("v1", "v2"):
            octet = 1 if version == "v1" else 2
            workloads.append(
                Workload(
                    name=f"svc{i}-{version}",
                    namespace="default",
                    address=f"10.{128 + octet}.{i // 256 % 256}.{i % 256}",
                    labels=frozen_map({"app": f"svc{i}", "version": version}),
                )
            )
        docs.append(_CONFIG.format(i=i))
        if i % 10 == 0:
            docs.append(_VS.format(i=i))
    loaded = load_text("---".join(docs))
    return MeshSnapshot.build(loaded.resources, _view(services, workloads))


def _view(services: list[Service], workloads: list[Workload]) -> RegistryView:
    """``compute_view`` matches every service against every workload (quadratic); the
    benchmark knows which workloads serve which service, so it builds the view directly."""
    by_app: dict[str, list[Workload]] = {}
    for w in workloads:
        by_app.setdefault(w.labels["app"], []).append(w)
    endpoints = {}
    for svc in services:
        for port in svc.ports:
            found = [endpoint_for(svc, port, w) for w in by_app.get(svc.name, [])]
            endpoints[(svc.hostname, port.port)] = tuple(e for e in found if e is not None)
    return RegistryView(tuple(services), tuple(workloads), MappingProxyType(endpoints))


def _measure(snapshot: MeshSnapshot) -> tuple[float, int, int]:
    proxy = Proxy("sidecar", "10.200.0.1", "client", "default", frozen_map({"app": "client"}))
    start = time.perf_counter()
    resources = translate(proxy, snapshot)
    size = 0
    count = 0
    for named in resources.values():
        for message in named.values():
            size += len(message.SerializeToString(deterministic=True))
            count += 1
    return time.perf_counter() - start, count, size


def run() -> list[tuple[str, str, str, str]]:
    rows = []
    for n in SIZES:
        snapshot = build(n)
        best, count, size = min(_measure(snapshot) for _ in range(3 if n <= 1_000 else 1))
        target = f"< {TARGET_1000_S:.0f} s" if n == 1_000 else "-"
        rows.append(
            (
                "xds translate+serialize",
                f"{n} services ({count} resources, {size / 1e6:.1f} MB)",
                f"{best * 1000:.0f} ms",
                target,
            )
        )
    return rows


if __name__ == "__main__":
    for row in run():
        print("  ".join(row))
