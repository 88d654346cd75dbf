"""The mesh of the authorization e2e tests: manifests, pods and policy helpers.

Namespaces: ``authz`` (sidecars) holds ``web`` (HTTP on 8080 behind Service port 80, echoing
the request as JSON; an echo on TCP 9000; HTTP on 8081, a port no Service declares) and a
``client``; ``ext`` (sidecars) holds the ext_authz server (HTTP 8000, gRPC 9000, see
``e2e_support/ext_authz_server.py``); ``plain`` (no sidecars) holds a ``client`` whose IP reaches
the servers as it is; ``istio-system`` holds the ingress gateway, routing every host to ``web``
(HTTP on 8080) and TCP on 31400 to ``web``'s echo.
The meshConfig declares the ext_authz providers ``ext-authz-http`` and ``ext-authz-grpc``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

from runtime_e2e import BOOKINFO, assert_nothing_left

from e2e_support.authz_mesh import Policies, client, namespace, pod, server
from e2e_support.localmesh import LocalMeshThread
from e2e_support.probes import Request, statuses

EXT_AUTHZ = Path(__file__).resolve().parents[1] / "e2e_support" / "ext_authz_server.py"
GATEWAY_ROUTES_TO_WEB = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web-gateway, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: authz}
spec:
  hosts: ["*"]
  gateways: [istio-system/web-gateway]
  http: [{route: [{destination: {host: web.authz.svc.cluster.local, port: {number: 80}}}]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: echo-gateway, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 31400, name: tcp, protocol: TCP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo, namespace: authz}
spec:
  hosts: ["*"]
  gateways: [istio-system/echo-gateway]
  tcp: [{route: [{destination: {host: web.authz.svc.cluster.local, port: {number: 9000}}}]}]
"""
PROVIDERS = """
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {name: mesh, namespace: istio-system}
spec:
  meshConfig:
    extensionProviders:
    - name: ext-authz-http
      envoyExtAuthzHttp:
        service: ext-authz.ext.svc.cluster.local
        port: 8000
        includeRequestHeadersInCheck: [x-ext-authz]
        headersToUpstreamOnAllow: [x-ext-authz-check-result]
        headersToDownstreamOnDeny: [x-ext-authz-check-result]
    - name: ext-authz-grpc
      envoyExtAuthzGrpc:
        service: ext/ext-authz.ext.svc.cluster.local
        port: 9000
"""


def ext_authz() -> str:
    command = json.dumps([sys.executable, str(EXT_AUTHZ), "--http", "8000", "--grpc", "9000"])
    return f"""
apiVersion: v1
kind: Service
metadata: {{name: ext-authz, namespace: ext}}
spec:
  selector: {{app: ext-authz}}
  ports: [{{name: http, port: 8000, targetPort: 8000}}, {{name: grpc, port: 9000, targetPort: 9000}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: ext-authz, namespace: ext}}
spec:
  selector: {{matchLabels: {{app: ext-authz}}}}
  template:
    metadata: {{labels: {{app: ext-authz}}}}
    spec:
      containers: [{{name: ext-authz, command: {command}, ports: [{{containerPort: 8000}}]}}]
"""


def manifests() -> str:
    return "\n---\n".join(
        [
            namespace("authz"),
            namespace("ext"),
            namespace("plain", "disabled"),
            server("web", "authz"),
            client("client", "authz"),
            client("client", "plain"),
            ext_authz(),
            GATEWAY_ROUTES_TO_WEB,
            PROVIDERS,
        ]
    )


def start(home: Path, manifests_text: str) -> Iterator[LocalMeshThread]:
    """The mesh (netns mode, with the ingress gateway) for a module's tests; stopped afterwards
    and checked to have left nothing behind."""
    folder = home / "manifests"
    folder.mkdir()
    (folder / "mesh.yaml").write_text(manifests_text)
    mesh = LocalMeshThread(home)
    run_id = mesh.mesh.names.run_id
    try:
        mesh.start([str(BOOKINFO / "platform" / "istio-ingressgateway.yaml"), str(folder)])
        yield mesh
    finally:
        mesh.close()
        assert_nothing_left(run_id)


def gateway(mesh: LocalMeshThread) -> str:
    """The ingress gateway's HTTP server at its pod's address, ``<pod ip>:8080`` (the address
    its policies see clients connect to, without a Service VIP in between)."""
    return f"{pod(mesh, 'istio-system', 'istio-ingressgateway').ip}:8080"


def removed_afterwards(mesh: LocalMeshThread) -> Policies:
    """Policies removed after the test, once ``web`` and the gateway answer again."""
    plain = pod(mesh, "plain", "client")

    def opened() -> bool:
        everything = [Request("web.authz/"), Request(f"{gateway(mesh)}/")]
        return statuses(plain, *everything) == [200, 200]

    return Policies(mesh, opened)


__all__ = ["gateway", "manifests", "pod", "removed_afterwards", "start"]
