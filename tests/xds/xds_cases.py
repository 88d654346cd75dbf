"""Named input configurations shared by golden, simulation and Envoy validation tests."""

from __future__ import annotations

from collections.abc import Callable

import xds_fixtures as fx

from config_support.manifests import manifests
from sailmesh.registry.convert import service_entry_inline_workloads, service_entry_services
from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.snapshot.snapshot import MeshSnapshot

FAULT = manifests("""
VirtualService ratings
  hosts: [ratings]
  http:
  - match:
    - headers:
        end-user: {exact: jason}
    fault:
      delay:
        percentage: {value: 100.0}
        fixedDelay: 7s
      abort:
        percentage: {value: 10}
        httpStatus: 500
    route:
    - destination: {host: ratings, subset: v1}
  - route:
    - destination: {host: ratings, subset: v1}
""")

CIRCUIT_BREAKER = manifests("""
DestinationRule reviews-cb
  host: reviews.default.svc.cluster.local
  trafficPolicy:
    loadBalancer: {simple: RANDOM}
    connectionPool:
      tcp: {maxConnections: 1}
      http: {http1MaxPendingRequests: 1, maxRequestsPerConnection: 1}
    outlierDetection:
      consecutive5xxErrors: 1
      interval: 1s
      baseEjectionTime: 3m
      maxEjectionPercent: 100
    portLevelSettings:
    - port: {number: 9080}
      loadBalancer: {simple: LEAST_REQUEST}
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      loadBalancer:
        consistentHash: {httpCookie: {name: user, ttl: 0s}}
""")

SERVICE_ENTRY = manifests("""
ServiceEntry httpbin-ext
  hosts: [httpbin.org]
  ports:
  - {number: 80, name: http, protocol: HTTP}
  - {number: 443, name: https, protocol: TLS}
  resolution: DNS
  location: MESH_EXTERNAL
---
VirtualService httpbin-ext
  hosts: [httpbin.org]
  http:
  - timeout: 3s
    route:
    - destination: {host: httpbin.org}
""")

#: Delegation (jason's requests to a delegate in another namespace) beside retries and a 50 %
#: mirror on the root's own route (the shapes the e2e tests run on real traffic).
DELEGATED_RETRIES_MIRROR = manifests("""
VirtualService reviews
  hosts: [reviews]
  http:
  - match:
    - headers:
        end-user: {exact: jason}
    delegate: {name: reviews-jason, namespace: team}
  - route:
    - destination: {host: reviews, subset: v1}
    retries: {attempts: 4, perTryTimeout: 1s, retryOn: 5xx}
    mirror: {host: reviews, subset: v2}
    mirrorPercentage: {value: 50.0}
---
VirtualService team/reviews-jason
  http:
  - route:
    - destination: {host: reviews.default.svc.cluster.local, subset: v2}
""")

#: The traffic edges: a ServiceEntry address range whose TCP routes split by destination and
#: source subnet, a TLS range routed by subnet, tunnelling, the PROXY protocol, a retry budget
#: and a route stats prefix.
TRAFFIC_EDGES = manifests("""
ServiceEntry ranged
  hosts: [ranged.ext]
  addresses: [240.0.7.0/24]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{number: 7000, name: tcp, protocol: TCP}]
  endpoints: [{address: 10.244.0.90}]
---
ServiceEntry upper
  hosts: [upper.ext]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{number: 7000, name: tcp, protocol: TCP}]
  endpoints: [{address: 10.244.0.91}]
---
ServiceEntry secure-range
  hosts: [secure.ext]
  addresses: [240.0.8.0/24]
  resolution: NONE
  ports: [{number: 8443, name: tls, protocol: TLS}]
---
VirtualService ranged
  hosts: [ranged.ext]
  tcp:
  - match: [{destinationSubnets: [240.0.7.128/25]}]
    route: [{destination: {host: upper.ext}}]
  - match: [{sourceSubnet: 10.244.0.0/30}]
    route: [{destination: {host: upper.ext}}]
  - route: [{destination: {host: ranged.ext}}]
---
VirtualService secure-range
  hosts: [secure.ext]
  tls:
  - match: [{sniHosts: [secure.ext], destinationSubnets: [240.0.8.8]}]
    route: [{destination: {host: upper.ext, port: {number: 7000}}}]
---
DestinationRule upper
  host: upper.ext
  trafficPolicy:
    tunnel: {protocol: CONNECT, targetHost: 10.244.0.92, targetPort: 7001}
    proxyProtocol: {version: V2}
    retryBudget: {percent: 25, minRetryConcurrency: 5}
---
VirtualService reviews-stats
  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /critical}, statPrefix: critical}]
    route: [{destination: {host: reviews}}]
""")


def _with_entries(
    texts: tuple[str, ...], files: tuple[str, ...] = (), mesh: MeshConfig | None = None
) -> MeshSnapshot:
    resources = fx.config(*texts, files=files)
    entries = [r for r in resources if r.kind == "ServiceEntry"]
    services = [s for r in entries for s in service_entry_services(r)]
    workloads = [w for r in entries for w in service_entry_inline_workloads(r)]
    return fx.snapshot(resources, services, workloads, mesh)


DR_ALL = "destination-rule-all.yaml"

CASES: dict[str, Callable[[], MeshSnapshot]] = {
    "bookinfo_all_v1": lambda: _with_entries((), (DR_ALL, "virtual-service-all-v1.yaml")),
    "reviews_50_v3": lambda: _with_entries((), (DR_ALL, "virtual-service-reviews-50-v3.yaml")),
    "reviews_jason_v2": lambda: _with_entries((), (DR_ALL, "virtual-service-reviews-test-v2.yaml")),
    "ratings_fault": lambda: _with_entries((FAULT,), (DR_ALL,)),
    "reviews_circuit_breaker": lambda: _with_entries((CIRCUIT_BREAKER,)),
    "service_entry_dns": lambda: _with_entries((SERVICE_ENTRY,)),
    "reviews_delegated_retries_mirror": lambda: _with_entries(
        (DELEGATED_RETRIES_MIRROR,), (DR_ALL,)
    ),
    "traffic_edges": lambda: _with_entries((TRAFFIC_EDGES,)),
    "registry_only": lambda: _with_entries(
        (SERVICE_ENTRY,), mesh=MeshConfig(outbound_traffic_policy="REGISTRY_ONLY")
    ),
}
