"""BOOTSTRAP patches: MERGE into the bootstrap a proxy starts with (Istio's only operation for
it).

Envoy reads its bootstrap once, when it starts; xDS cannot change it. So, as with Istio (whose
agent applies these patches when it starts Envoy), a BOOTSTRAP patch takes effect for proxies
started after it is applied: restart the pods it selects (validation warns about it when such a
patch is applied). Contexts: a sidecar matches ANY, SIDECAR_INBOUND and SIDECAR_OUTBOUND, a
gateway ANY and GATEWAY.

In: the bootstrap document (JSON-ready dict), the proxy and the snapshot. Out: the patched
document (the same one when no patch applies).
"""

from __future__ import annotations

from typing import Any

from envoy.config.bootstrap.v3 import bootstrap_pb2
from google.protobuf import json_format

from sailmesh.config.validation.envoy_values import to_message
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.xds.envoyfilter.merge import merge
from sailmesh.xds.envoyfilter.patches import compile_patches
from sailmesh.xds.envoyfilter.select import envoy_filters_for


def patch_bootstrap(
    document: dict[str, Any], proxy: Proxy, snapshot: MeshSnapshot
) -> dict[str, Any]:
    """``document`` with the BOOTSTRAP MERGE patches of ``proxy``'s EnvoyFilters applied."""
    filters = envoy_filters_for(proxy, snapshot)
    if not filters:
        return document
    contexts = (
        {"ANY", "GATEWAY"}
        if proxy.type == "router"
        else {
            "ANY",
            "SIDECAR_INBOUND",
            "SIDECAR_OUTBOUND",
        }
    )
    wanted = [
        p
        for p in compile_patches(filters, proxy).of("BOOTSTRAP")
        if p.operation == "MERGE" and p.value is not None and p.context in contexts
    ]
    if not wanted:
        return document
    boot = to_message(document, bootstrap_pb2.Bootstrap)
    for patch in wanted:
        merge(boot, patch.value)
    patched: dict[str, Any] = json_format.MessageToDict(boot, preserving_proto_field_name=True)
    return patched
