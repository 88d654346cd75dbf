"""A gateway world for translation tests: an ingress gateway with every server kind (HTTP with
httpsRedirect, HTTPS SIMPLE/MUTUAL/OPTIONAL_MUTUAL/ISTIO_MUTUAL on one port with SNI chains,
TLS PASSTHROUGH and SIMPLE, TCP, a bound server), the VirtualServices bound to it, and the
credential Secrets in the gateway's namespace."""

from __future__ import annotations

from typing import Any

import xds_fixtures as fx

from config_support.manifests import manifests
from config_support.tls_secrets import tls_secret
from sailmesh.registry.model import frozen_map
from sailmesh.snapshot.snapshot import MeshSnapshot

GATEWAYS = manifests("""
Gateway istio-system/public
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["bookinfo.example.com"]
    tls: {httpsRedirect: true}
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["bookinfo.example.com"]
    tls: {mode: SIMPLE, credentialName: bookinfo-cert, minProtocolVersion: TLSV1_3}
  - port: {number: 443, name: https-mutual, protocol: HTTPS}
    hosts: ["mutual.example.com"]
    tls:
      mode: MUTUAL
      credentialName: mutual-cert
      subjectAltNames: [client.example.com]
      verifyCertificateHash: ["AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB"]
      cipherSuites: [ECDHE-ECDSA-AES128-GCM-SHA256]
  - port: {number: 443, name: https-optional, protocol: HTTPS}
    hosts: ["optional.example.com"]
    tls: {mode: OPTIONAL_MUTUAL, credentialName: mutual-cert}
  - port: {number: 443, name: https-mesh, protocol: HTTPS}
    hosts: ["mesh.example.com"]
    tls: {mode: ISTIO_MUTUAL}
  - port: {number: 8443, name: tls-pass, protocol: TLS}
    hosts: ["*.passthrough.example.com"]
    tls: {mode: PASSTHROUGH}
  - port: {number: 9443, name: tls-term, protocol: TLS}
    hosts: ["db.example.com"]
    tls: {mode: SIMPLE, credentialName: bookinfo-cert}
  - port: {number: 31400, name: tcp, protocol: TCP}
    hosts: ["*"]
  - port: {number: 8080, name: http-local, protocol: HTTP}
    bind: 127.0.0.1
    hosts: ["*"]
---
Gateway istio-system/z-late
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: http-clash, protocol: HTTP}
    hosts: ["*"]
---
VirtualService default/bookinfo
  hosts: [bookinfo.example.com, mutual.example.com, optional.example.com, mesh.example.com]
  gateways: [istio-system/public]
  http: [{route: [{destination: {host: productpage, port: {number: 9080}}}]}]
---
VirtualService default/passthrough
  hosts: ["*.passthrough.example.com"]
  gateways: [istio-system/public]
  tls:
  - match: [{port: 8443, sniHosts: [reviews.passthrough.example.com]}]
    route: [{destination: {host: reviews, port: {number: 9080}}}]
  - match: [{port: 8443, sniHosts: [ratings.passthrough.example.com]}]
    route:
    - {destination: {host: ratings, port: {number: 9080}}, weight: 80}
    - {destination: {host: details, port: {number: 9080}}, weight: 20}
---
VirtualService default/tcp
  hosts: ["*"]
  gateways: [istio-system/public]
  tcp:
  - match: [{port: 31400}]
    route: [{destination: {host: ratings, port: {number: 9080}}}]
  - match: [{port: 9443}]
    route: [{destination: {host: details, port: {number: 9080}}}]
---
VirtualService default/local
  hosts: ["*"]
  gateways: [istio-system/public]
  http: [{match: [{port: 8080}], route: [{destination: {host: details, port: {number: 9080}}}]}]
""")

SECRETS = (
    tls_secret("bookinfo-cert")
    + "---\n"
    + tls_secret("mutual-cert", ca=True)
    # in another namespace: never served to this gateway
    + "---\n"
    + tls_secret("bookinfo-cert", namespace="default")
)


def ingress() -> Any:
    return fx.productpage_proxy(
        type="router",
        ip="10.244.0.50",
        pod_name="ingress-1",
        namespace="istio-system",
        labels=frozen_map({"istio": "ingressgateway"}),
    )


def world(extra: str = "") -> MeshSnapshot:
    return fx.snapshot(fx.config(GATEWAYS, SECRETS, *([extra] if extra else [])))
