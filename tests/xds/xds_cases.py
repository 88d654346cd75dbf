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

#: A Sidecar with ingress listeners on productpage: they replace the Service's port 9080.
SIDECAR_INGRESS = manifests("""
Sidecar productpage
  workloadSelector:
    labels: {app: productpage}
  inboundConnectionPool:
    tcp: {maxConnectionDuration: 60s}
    http: {idleTimeout: 30s, maxRequestsPerConnection: 10}
  ingress:
  - port: {number: 9080, protocol: HTTP, name: http}
    defaultEndpoint: 127.0.0.1:8080
    connectionPool:
      http: {maxRequestsPerConnection: 1}
  - port: {number: 7070, protocol: TCP, name: tcp}
    defaultEndpoint: 0.0.0.0:7171
  - port: {number: 7443, protocol: HTTPS, name: https}
    defaultEndpoint: 127.0.0.1:8080
    tls: {mode: SIMPLE, serverCertificate: /etc/app/cert.pem, privateKey: /etc/app/key.pem}
  - port: {number: 8081, protocol: HTTP, name: bound}
    bind: 10.244.0.14
    captureMode: NONE
    defaultEndpoint: unix:///var/run/app.sock
  - port: {number: 6060, protocol: TCP, name: original}
  - port: {number: 6061, protocol: HTTP, name: uds}
    bind: unix:///var/run/sailmesh-test-in.sock
    captureMode: NONE
    defaultEndpoint: 127.0.0.1:8080
  egress:
  - hosts: [./*]
""")

#: Unknown destinations of the namespace's sidecars go to details (an egress proxy stand-in).
SIDECAR_EGRESS_PROXY = manifests("""
Sidecar default
  outboundTrafficPolicy:
    mode: ALLOW_ANY
    egressProxy:
      host: details.default.svc.cluster.local
      port: {number: 9080}
""")

#: Egress listeners of productpage: reviews alone on a captured 9080, ratings on a bound
#: 127.0.0.1:9080 (captureMode NONE), an external database on a bound 127.0.0.1:3306, and a
#: catch-all importing details (whose 9080 the port listener holds).
SIDECAR_EGRESS_LISTENERS = manifests("""
ServiceEntry db
  hosts: [db.example.com]
  ports: [{number: 3306, name: tcp, protocol: TCP}]
  resolution: DNS
  location: MESH_EXTERNAL
---
Sidecar productpage
  workloadSelector:
    labels: {app: productpage}
  egress:
  - port: {number: 9080, protocol: HTTP, name: http}
    hosts: [./reviews.default.svc.cluster.local]
  - port: {number: 9080, protocol: HTTP, name: http-local}
    bind: 127.0.0.1
    captureMode: NONE
    hosts: [./ratings.default.svc.cluster.local]
  - port: {number: 3306, protocol: TCP, name: db}
    bind: 127.0.0.1
    captureMode: NONE
    hosts: [./db.example.com]
  - port: {number: 9080, protocol: HTTP, name: uds}
    bind: unix://@sailmesh-test-out
    captureMode: NONE
    hosts: [./details.default.svc.cluster.local]
  - hosts: [./details.default.svc.cluster.local]
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
    "sidecar_ingress": lambda: _with_entries((SIDECAR_INGRESS,)),
    "sidecar_egress_proxy": lambda: _with_entries((SIDECAR_EGRESS_PROXY,)),
    "sidecar_egress_listeners": lambda: _with_entries((SIDECAR_EGRESS_LISTENERS,)),
    "traffic_edges": lambda: _with_entries((TRAFFIC_EDGES,)),
    "registry_only": lambda: _with_entries(
        (SERVICE_ENTRY,), mesh=MeshConfig(outbound_traffic_policy="REGISTRY_ONLY")
    ),
}
