"""A small world for EnvoyFilter tests: bookinfo (all v1) seen from productpage's sidecar and
from an ingress gateway, an EnvoyFilter built from a Python spec, and a compact view of the
translated resources (what patches change: names and orders, not every field)."""

from __future__ import annotations

import json
from typing import Any

import xds_fixtures as fx
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from google.protobuf import json_format

from sailmesh.config.load import load_text
from sailmesh.config.resource import Resource
from sailmesh.registry.model import frozen_map
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.typeurls import CLUSTER, LISTENER, ROUTE
from sailmesh.xds.translate import translate

HCM = "envoy.filters.network.http_connection_manager"
GATEWAY = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bookinfo-gateway, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bookinfo, namespace: default}
spec:
  hosts: ["*"]
  gateways: [bookinfo-gateway]
  http:
  - name: productpage
    match: [{uri: {prefix: /productpage}}]
    route: [{destination: {host: productpage, port: {number: 9080}}}]
  - name: old
    match: [{uri: {exact: /old}}]
    redirect: {uri: /productpage}
"""


def envoy_filter(
    spec: dict[str, Any], name: str = "ef", namespace: str = "default", created: str = ""
) -> Resource:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if created:
        meta["creationTimestamp"] = created
    text = json.dumps(
        {
            "apiVersion": "networking.istio.io/v1alpha3",
            "kind": "EnvoyFilter",
            "metadata": meta,
            "spec": spec,
        }
    )
    loaded = load_text(text, "ef.yaml")
    assert loaded.ok, loaded.problems
    (found,) = loaded.resources
    return found


def world(*filters: Resource) -> MeshSnapshot:
    base = fx.config(GATEWAY, files=("virtual-service-all-v1.yaml", "destination-rule-all.yaml"))
    return fx.snapshot([*base, *filters])


def sidecar() -> Proxy:
    return fx.productpage_proxy()


def gateway() -> Proxy:
    return fx.productpage_proxy(
        type="router",
        ip="10.244.0.50",
        pod_name="istio-ingressgateway-1",
        namespace="istio-system",
        labels=frozen_map({"istio": "ingressgateway", "app": "istio-ingressgateway"}),
    )


def http_filters(flt: Any) -> list[str]:
    hcm = hcm_pb2.HttpConnectionManager()
    flt.typed_config.Unpack(hcm)
    return [h.name for h in hcm.http_filters]


def hcm_of(flt: Any) -> hcm_pb2.HttpConnectionManager:
    hcm = hcm_pb2.HttpConnectionManager()
    flt.typed_config.Unpack(hcm)
    return hcm


def view(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Listener -> listener filters and chains (filters, HTTP filters); route configs ->
    virtual hosts -> routes; clusters -> connect timeout."""
    listeners: dict[str, Any] = {}
    for name, lis in sorted(resources.get(LISTENER, {}).items()):
        chains = []
        for fc in lis.filter_chains:
            chain: dict[str, Any] = {"name": fc.name, "filters": [f.name for f in fc.filters]}
            for f in fc.filters:
                if f.name == HCM:
                    chain["http"] = http_filters(f)
                    hcm = hcm_of(f)
                    if hcm.HasField("route_config"):
                        chain["inline_routes"] = _routes(hcm.route_config)
            chains.append(chain)
        listeners[name] = {
            "port": lis.address.socket_address.port_value,
            "listener_filters": [f.name for f in lis.listener_filters],
            "chains": chains,
        }
    routes = {n: _routes(rc) for n, rc in sorted(resources.get(ROUTE, {}).items())}
    clusters = {
        n: json_format.MessageToDict(c.connect_timeout) if c.HasField("connect_timeout") else None
        for n, c in sorted(resources.get(CLUSTER, {}).items())
    }
    return {"listeners": listeners, "routes": routes, "clusters": clusters}


def _routes(rc: Any) -> dict[str, list[str]]:
    return {
        vh.name: [f"{r.name or '-'}:{r.WhichOneof('action')}" for r in vh.routes]
        for vh in rc.virtual_hosts
    }


def translated(proxy: Proxy, *filters: Resource) -> dict[str, dict[str, Any]]:
    return translate(proxy, world(*filters))
