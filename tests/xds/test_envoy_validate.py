"""Real Envoy accepts the translated configuration (``envoy --mode validate``)."""

from __future__ import annotations

from pathlib import Path

import xds_fixtures as fx
from xds_envoy_static import assert_envoy_accepts

from config_support.manifests import manifests
from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.xds.options import TranslateOptions
from sailmesh.xds.translate import translate

EVERYTHING = manifests("""
VirtualService ratings
  hosts: [ratings]
  http:
  - match:
    - uri: {regex: "/ratings/[0-9]+"}
      ignoreUriCase: true
      method: {exact: GET}
      queryParams: {debug: {exact: "1"}}
      withoutHeaders: {x-skip: {}}
    fault:
      delay: {fixedDelay: 2s, percentage: {value: 50}}
      abort: {httpStatus: 500, percentage: {value: 10}}
    corsPolicy:
      allowOrigins: [{exact: "https://example.com"}]
      allowMethods: [GET, POST]
      maxAge: 24h
      allowCredentials: true
    mirror: {host: details}
    mirrorPercentage: {value: 25}
    rewrite: {uri: /v2/, authority: ratings.internal}
    headers:
      request: {set: {x-a: "1"}, add: {x-b: "2"}, remove: [x-c]}
      response: {set: {x-d: "1"}}
    retries: {attempts: 3, perTryTimeout: 2s, retryOn: "5xx,gateway-error,503", retryRemoteLocalities: true}
    timeout: 10s
    route:
    - destination: {host: ratings, subset: v1}
  - match: [{uri: {exact: /old}}]
    redirect: {uri: /new, redirectCode: 302, derivePort: FROM_REQUEST_PORT}
  - match: [{uri: {prefix: /static}}]
    directResponse: {status: 200, body: {string: "hello"}}
  - route:
    - destination: {host: ratings, subset: v1}
      weight: 80
    - destination: {host: ratings, subset: v2}
      weight: 20
      headers: {request: {set: {x-canary: "true"}}}
---
DestinationRule ratings
  host: ratings
  trafficPolicy:
    loadBalancer:
      consistentHash: {httpHeaderName: x-user}
    connectionPool:
      tcp: {maxConnections: 10, connectTimeout: 2s, tcpKeepalive: {time: 60s, interval: 10s}}
      http: {http1MaxPendingRequests: 5, maxRequestsPerConnection: 1, idleTimeout: 30s}
    outlierDetection: {consecutive5xxErrors: 3, interval: 5s, baseEjectionTime: 30s}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      loadBalancer: {simple: ROUND_ROBIN, warmup: {duration: 30s, minimumPercent: 20, aggression: 2}}
      connectionPool:
        tcp: {maxConnectionDuration: 1h, idleTimeout: 5m}
        http: {h2UpgradePolicy: UPGRADE, http2KeepAlive: {interval: 30s, timeout: 5s}}
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      loadBalancer:
        simple: LEAST_REQUEST
        warmupDurationSecs: 60s
        localityLbSetting: {distribute: [{from: "*", to: {"us-east/*": 100}}]}
---
ServiceEntry external
  hosts: [api.example.com]
  ports:
  - {number: 443, name: tls, protocol: TLS}
  - {number: 80, name: http, protocol: HTTP}
  resolution: DNS
""")


def _validate(
    resources: dict[str, dict[str, object]], tmp_path: Path, sds_socket: str | None = None
) -> None:
    assert_envoy_accepts(resources, tmp_path, sds_socket)  # type: ignore[arg-type]


def test_envoy_accepts_bookinfo(tmp_path: Path) -> None:
    snap = fx.snapshot(
        fx.config(files=("destination-rule-all.yaml", "virtual-service-reviews-test-v2.yaml"))
    )
    options = TranslateOptions(access_log_path="/dev/stdout")
    _validate(translate(fx.productpage_proxy(), snap, options=options), tmp_path)


def test_envoy_accepts_every_feature(tmp_path: Path) -> None:
    from sailmesh.registry.convert import service_entry_services

    resources = fx.config(EVERYTHING)
    entries = [s for r in resources if r.kind == "ServiceEntry" for s in service_entry_services(r)]
    extra = [fx.tcp_service("mysql", 3306, "10.96.0.30"), fx.tcp_service("redis", 6379)]
    snap = fx.snapshot(
        resources,
        extra_services=[*entries, *extra],
        mesh=MeshConfig(outbound_traffic_policy="REGISTRY_ONLY"),
    )
    _validate(translate(fx.productpage_proxy(), snap), tmp_path)
    explicit = fx.productpage_proxy(interception="NONE")
    _validate(translate(explicit, snap), tmp_path)


def test_envoy_accepts_mutual_tls(tmp_path: Path) -> None:
    """Auto mTLS, every DestinationRule TLS mode (with real certificate files) and each
    PeerAuthentication mode of the inbound listener, on a proxy with the ``sds-grpc``
    cluster, and a gateway."""
    from mtls_world import SDS, api_proxy, snapshot
    from test_cluster_tls import ISTIO_MUTUAL
    from test_inbound_mtls import DISABLE, PERMISSIVE, PORT_LEVEL, STRICT

    from e2e_support.pki import write_pki
    from sailmesh.snapshot.proxy import Proxy

    pki = write_pki(tmp_path / "pki", "api.example.com")
    originate = f"""
DestinationRule external
  host: api.example.com
  trafficPolicy:
    tls: {{mode: SIMPLE, caCertificates: {pki.ca}, caCrl: {pki.crl}}}
    portLevelSettings:
    - port: {{number: 443}}
      tls:
        mode: MUTUAL
        clientCertificate: {pki.client_cert}
        privateKey: {pki.client_key}
        sni: api.example.com
        subjectAltNames: [api.example.com]
---
DestinationRule vm
  host: vm.internal
  trafficPolicy: {{tls: {{mode: SIMPLE, insecureSkipVerify: true}}}}
"""
    sds = str(tmp_path / "sds.sock")
    world = snapshot(ISTIO_MUTUAL + "---\n" + originate)
    _validate(translate(fx.productpage_proxy(), world, options=SDS), tmp_path, sds)
    router = Proxy("router", "10.244.0.50", "gw-1", "istio-system")
    _validate(translate(router, world, options=SDS), tmp_path, sds)
    for policy in (STRICT, PERMISSIVE, DISABLE, PORT_LEVEL):
        _validate(translate(api_proxy(), snapshot(policy), options=SDS), tmp_path, sds)


def test_envoy_accepts_sidecar_ingress_listeners(tmp_path: Path) -> None:
    """Sidecar ingress listeners: every defaultEndpoint form, a bound (captureMode NONE)
    listener, an ORIGINAL_DST inbound cluster, inbound connection pools and own TLS."""
    from xds_cases import SIDECAR_INGRESS

    from e2e_support.pki import write_pki

    pki = write_pki(tmp_path / "pki", "productpage.default")
    text = SIDECAR_INGRESS.replace("/etc/app/cert.pem", str(pki.server_cert)).replace(
        "/etc/app/key.pem", str(pki.server_key)
    )
    snap = fx.snapshot(fx.config(text))
    _validate(translate(fx.productpage_proxy(), snap), tmp_path)


def test_envoy_accepts_sidecar_egress_listeners(tmp_path: Path) -> None:
    """Per-port Sidecar egress listeners: captured and bound (captureMode NONE), HTTP and TCP,
    and an egress proxy for unknown destinations."""
    from xds_cases import CASES

    for case in ("sidecar_egress_listeners", "sidecar_egress_proxy"):
        _validate(translate(fx.productpage_proxy(), CASES[case]()), tmp_path)


def test_envoy_accepts_the_traffic_edges(tmp_path: Path) -> None:
    """Address ranges, subnet-matched TCP/TLS chains, tunnelling, the PROXY protocol, retry
    budgets and route stats prefixes (the ``traffic_edges`` golden case)."""
    from xds_cases import CASES

    _validate(translate(fx.productpage_proxy(), CASES["traffic_edges"]()), tmp_path)
