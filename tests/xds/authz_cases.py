"""Named AuthorizationPolicy worlds for the golden, Envoy-validation and unit tests of
:mod:`sailmesh.xds.authz`: bookinfo plus a TCP port (3306) on productpage and an ext_authz
service, with the policies and mesh config of each case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import xds_fixtures as fx
from google.protobuf import json_format

from config_support.manifests import manifests
from sailmesh.config.load import load_text
from sailmesh.registry.model import Service, ServicePort, frozen_map
from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.typeurls import LISTENER
from sailmesh.xds.translate import translate

TCP_PORT = 3306
#: A TCP service on the productpage workload, so its sidecar has a TCP inbound chain.
PRODUCTPAGE_DB = Service(
    hostname="productpage-db.default.svc.cluster.local",
    namespace="default",
    ports=(ServicePort("mysql", TCP_PORT, "TCP"),),
    vip="10.96.0.40",
    name="productpage-db",
    selector=frozen_map({"app": "productpage"}),
)
EXT_AUTHZ = Service(
    hostname="ext-authz.authz.svc.cluster.local",
    namespace="authz",
    ports=(ServicePort("http", 8000, "HTTP"), ServicePort("grpc", 9000, "GRPC")),
    vip="10.96.0.50",
    name="ext-authz",
    selector=frozen_map({"app": "ext-authz"}),
)
PROVIDERS = {
    "extensionProviders": [
        {
            "name": "http-authz",
            "envoyExtAuthzHttp": {
                "service": "ext-authz.authz.svc.cluster.local",
                "port": 8000,
                "timeout": "2s",
                "pathPrefix": "/check",
                "includeRequestHeadersInCheck": ["x-ext-authz"],
                "includeAdditionalHeadersInCheck": {"x-from": "sailmesh"},
                "headersToUpstreamOnAllow": ["x-ext-authz-check-result"],
                "headersToDownstreamOnDeny": ["x-ext-authz-check-result"],
                "headersToDownstreamOnAllow": ["x-ext-authz-check-result"],
                "includeRequestBodyInCheck": {"maxRequestBytes": 4096, "allowPartialMessage": True},
                "statusOnError": "503",
            },
        },
        {
            "name": "grpc-authz",
            "envoyExtAuthzGrpc": {
                "service": "authz/ext-authz.authz.svc.cluster.local",
                "port": 9000,
                "failOpen": True,
            },
        },
        {"name": "missing", "envoyExtAuthzHttp": {"service": "nowhere.example.com", "port": 80}},
    ]
}

EVERY_FIELD = manifests("""
AuthorizationPolicy default/every-field
  selector: {matchLabels: {app: productpage}}
  rules:
  - from:
    - source:
        principals: [cluster.local/ns/default/sa/a, "cluster.local/ns/x/*", "*/sa/b", "*"]
        notPrincipals: [cluster.local/ns/default/sa/bad]
        requestPrincipals: ["https://issuer.example.com/alice", "https://issuer.example.com/*", "*/bob", "*"]
        notRequestPrincipals: ["https://evil.example.com/*"]
        namespaces: [default, "team-*"]
        notNamespaces: [blocked]
        ipBlocks: [10.244.0.0/16, 192.0.2.7]
        notIpBlocks: [10.244.9.0/24]
        remoteIpBlocks: [203.0.113.0/24]
        notRemoteIpBlocks: [203.0.113.66]
    - source:
        serviceAccounts: [default/bookinfo-reviews, other/sa]
        notServiceAccounts: [default/bad]
        trustDomains: [cluster.local, "*.example.org"]
        notTrustDomains: [evil.example.org]
    to:
    - operation:
        hosts: [productpage.default.svc.cluster.local, "*.example.com", "api.*"]
        notHosts: [admin.example.com]
        methods: [GET, "P*"]
        notMethods: [DELETE]
        paths: [/exact, "/prefix/*", "*/suffix", "/t/{*}/x/{**}"]
        notPaths: [/admin]
        ports: ["9080", "3306"]
        notPorts: ["9999"]
    when:
    - {key: "request.headers[x-user]", values: [alice, "adm*"], notValues: ["*-bot"]}
    - {key: source.ip, values: [10.244.0.0/16]}
    - {key: remote.ip, notValues: [198.51.100.1]}
    - {key: source.namespace, values: [default]}
    - {key: source.principal, values: [cluster.local/ns/default/sa/a]}
    - {key: request.auth.principal, values: ["https://issuer.example.com/alice"]}
    - {key: request.auth.audiences, values: [bookinfo]}
    - {key: request.auth.presenter, values: [web-app]}
    - {key: "request.auth.claims[groups]", values: [admins]}
    - {key: "request.auth.claims[realm][role]", values: ["super*"]}
    - {key: destination.ip, values: [10.244.0.14]}
    - {key: destination.port, values: ["9080"]}
    - {key: connection.sni, values: ["*.default.svc.cluster.local"]}
    - {key: "experimental.envoy.filters.network.mysql_proxy[db.table]", values: ["[update]"]}
""")

DENY_AND_ALLOW = manifests("""
AuthorizationPolicy default/deny-all
  {}
---
AuthorizationPolicy default/allow-get
  selector: {matchLabels: {app: productpage}}
  action: ALLOW
  rules:
  - to: [{operation: {methods: [GET], paths: ["/api/v1/products*"]}}]
  - from: [{source: {ipBlocks: [10.244.0.0/16]}}]
    to: [{operation: {ports: ["3306"]}}]
---
AuthorizationPolicy default/deny-admin
  action: DENY
  rules:
  - to: [{operation: {paths: ["/admin*"], methods: [POST]}}]
    from: [{source: {notIpBlocks: [10.244.0.21]}}]
  - when: [{key: "request.headers[x-block]", values: ["*"]}]
---
AuthorizationPolicy default/audit-writes
  action: AUDIT
  rules:
  - to: [{operation: {methods: [POST, PUT, DELETE]}}]
""")

DRY_RUN = """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: dry-deny
  namespace: default
  annotations: {istio.io/dry-run: "true"}
spec:
  action: DENY
  rules: [{to: [{operation: {methods: [GET]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: dry-allow
  namespace: default
  annotations: {istio.io/dry-run: "true"}
spec:
  rules: [{to: [{operation: {paths: [/only]}}]}]
"""

MESH_WIDE = manifests("""
AuthorizationPolicy istio-system/mesh-deny-bots
  action: DENY
  rules: [{when: [{key: "request.headers[user-agent]", values: ["*bot"]}]}]
---
AuthorizationPolicy istio-system/root-selector
  selector: {matchLabels: {app: productpage}}
  rules: [{from: [{source: {namespaces: [istio-system]}}]}]
---
AuthorizationPolicy other/elsewhere
  action: DENY
  rules: [{}]
---
AuthorizationPolicy default/not-me
  selector: {matchLabels: {app: reviews}}
  action: DENY
  rules: [{}]
""")

CUSTOM = manifests("""
AuthorizationPolicy default/ext-authz
  selector: {matchLabels: {app: productpage}}
  action: CUSTOM
  provider: {name: http-authz}
  rules:
  - to: [{operation: {paths: ["/headers*"]}}]
  - to: [{operation: {ports: ["3306"]}}]
""")
CUSTOM_GRPC = CUSTOM.replace("http-authz", "grpc-authz")
CUSTOM_UNKNOWN = CUSTOM.replace("http-authz", "no-such-provider")
CUSTOM_MISSING_SERVICE = CUSTOM.replace("http-authz", "missing")
CUSTOM_TWO_PROVIDERS = (
    CUSTOM
    + "---\n"
    + manifests("""
AuthorizationPolicy default/ext-authz-2
  action: CUSTOM
  provider: {name: grpc-authz}
  rules: [{to: [{operation: {methods: [DELETE]}}]}]
""")
)

GATEWAY = manifests("""
Gateway istio-system/gw
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 8080, name: http, protocol: HTTP}
    hosts: ["*"]
---
AuthorizationPolicy istio-system/ingress
  selector: {matchLabels: {istio: ingressgateway}}
  action: DENY
  rules:
  - from: [{source: {remoteIpBlocks: [203.0.113.0/24]}}]
  - from: [{source: {ipBlocks: [10.244.7.7]}}]
    to: [{operation: {hosts: [admin.example.com]}}]
""")

ROUTER = Proxy(
    type="router",
    ip="10.244.0.50",
    pod_name="istio-ingressgateway-1",
    namespace="istio-system",
    labels=frozen_map({"istio": "ingressgateway"}),
)


def world(*texts: str, mesh: dict[str, Any] | None = None) -> MeshSnapshot:
    resources = []
    for text in texts:
        loaded = load_text(text)
        assert loaded.ok, loaded.problems
        resources += loaded.resources
    return fx.snapshot(
        resources,
        extra_services=[PRODUCTPAGE_DB, EXT_AUTHZ],
        mesh=MeshConfig.from_dict(mesh or PROVIDERS),
    )


CASES: dict[str, Callable[[], MeshSnapshot]] = {
    "every_field": lambda: world(EVERY_FIELD),
    "deny_and_allow": lambda: world(DENY_AND_ALLOW),
    "dry_run": lambda: world(DRY_RUN),
    "mesh_wide": lambda: world(MESH_WIDE),
    "custom_http": lambda: world(CUSTOM),
    "custom_grpc": lambda: world(CUSTOM_GRPC),
    "custom_unknown_provider": lambda: world(CUSTOM_UNKNOWN),
    "custom_missing_service": lambda: world(CUSTOM_MISSING_SERVICE),
    "custom_two_providers": lambda: world(CUSTOM_TWO_PROVIDERS),
}


def _filters(message: Any, names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        json_format.MessageToDict(f, preserving_proto_field_name=True)
        for f in message
        if f.name not in names
    ]


def _hcm_filters(chain: Any) -> list[dict[str, Any]]:
    from envoy.extensions.filters.network.http_connection_manager.v3 import (
        http_connection_manager_pb2 as hcm_pb2,
    )

    hcm = hcm_pb2.HttpConnectionManager()
    chain.filters[-1].typed_config.Unpack(hcm)
    return _filters(hcm.http_filters, ("envoy.filters.http.router",))


def sidecar_authz(snapshot: MeshSnapshot) -> dict[str, Any]:
    """productpage's authorization filters: HTTP (port 9080), TCP (3306), passthrough."""
    listener = translate(fx.productpage_proxy(), snapshot)[LISTENER]["virtualInbound"]
    chains = {c.name: c for c in listener.filter_chains}
    return {
        "http_9080": _hcm_filters(chains["0.0.0.0_9080"]),
        "tcp_3306": _filters(
            chains[f"0.0.0.0_{TCP_PORT}_tcp"].filters, ("envoy.filters.network.tcp_proxy",)
        ),
        "passthrough": _filters(
            chains["InboundPassthroughFilterChain"].filters, ("envoy.filters.network.tcp_proxy",)
        ),
    }


def gateway_authz(snapshot: MeshSnapshot) -> dict[str, Any]:
    listener = translate(ROUTER, snapshot)[LISTENER]["0.0.0.0_8080"]
    return {"http_8080": _hcm_filters(listener.filter_chains[0])}
