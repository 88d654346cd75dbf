"""Who is connecting: Envoy's node (id + metadata) to a :class:`Proxy` and translation options.

Node metadata follows Istio's keys where Istio has one: ``LABELS`` (map), ``NAMESPACE``,
``SERVICE_ACCOUNT``, ``INTERCEPTION_MODE`` (``REDIRECT`` or ``NONE``), ``WORKLOAD_NAME`` (the
owning Deployment's name: Istio's ``source_workload``/``destination_workload``); sailmesh adds
``SAILMESH_EXPLICIT_PORT`` (the http_proxy listener port of an explicit-mode proxy) and
``SAILMESH_ACCESS_LOG`` (access log path, ``""`` for none), ``SAILMESH_GATEWAY_BIND`` and
``SAILMESH_GATEWAY_PORTS`` (``"8080=18080,80=8081"``: where a gateway binds its server ports;
the local runtime's explicit mode, where gateways share the host's loopback), and
``SAILMESH_SDS`` (``"true"``: the bootstrap has the ``sds-grpc`` cluster of the pod's node agent,
so the proxy's config may reference the ``default`` and ``ROOTCA`` secrets) and
``SAILMESH_TRACES`` (``"true"``: the bootstrap has the ``sailmesh-agent`` cluster, so the proxy
can send spans to the control plane's OTLP collector).
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

from sailmesh.registry.locality import join_locality
from sailmesh.snapshot.proxy import InterceptionMode, Proxy
from sailmesh.xds.options import TranslateOptions


def node_metadata(node: Any) -> dict[str, Any]:
    if not node.HasField("metadata"):
        return {}
    data = json_format.MessageToDict(node.metadata)
    return data if isinstance(data, dict) else {}


def proxy_from_node(node: Any) -> Proxy:
    meta = node_metadata(node)
    labels = {str(k): str(v) for k, v in (meta.get("LABELS") or {}).items()}
    mode: InterceptionMode = "NONE" if meta.get("INTERCEPTION_MODE") == "NONE" else "REDIRECT"
    return Proxy.from_node(
        node.id,
        labels=labels,
        service_account=meta.get("SERVICE_ACCOUNT") or None,
        interception=mode,
        locality=_node_locality(node),
    )


def _node_locality(node: Any) -> str:
    """``node.locality`` as ``region/zone/subzone`` (``""`` when the bootstrap sets none)."""
    if not node.HasField("locality"):
        return ""
    found = node.locality
    return join_locality(found.region, found.zone, found.sub_zone)


def options_from_node(node: Any) -> TranslateOptions:
    meta = node_metadata(node)
    kwargs: dict[str, Any] = {}
    if "SAILMESH_EXPLICIT_PORT" in meta:
        kwargs["explicit_port"] = int(meta["SAILMESH_EXPLICIT_PORT"])
    if "SAILMESH_ACCESS_LOG" in meta:
        kwargs["access_log_path"] = str(meta["SAILMESH_ACCESS_LOG"])
    if meta.get("SAILMESH_GATEWAY_BIND"):
        kwargs["gateway_bind"] = str(meta["SAILMESH_GATEWAY_BIND"])
    if meta.get("SAILMESH_GATEWAY_PORTS"):
        pairs = (item.split("=", 1) for item in str(meta["SAILMESH_GATEWAY_PORTS"]).split(","))
        kwargs["gateway_ports"] = tuple(sorted((int(a), int(b)) for a, b in pairs))
    if meta.get("SAILMESH_SDS") == "true":
        kwargs["sds"] = True
    if meta.get("SAILMESH_TRACES") == "true":
        kwargs["traces"] = True
    return TranslateOptions(**kwargs)


def node_metadata_for(
    namespace: str,
    labels: dict[str, str],
    service_account: str,
    interception: InterceptionMode = "REDIRECT",
    explicit_port: int | None = None,
    access_log: str | None = None,
    gateway_bind: str | None = None,
    gateway_ports: dict[int, int] | None = None,
    sds: bool = False,
    workload_name: str | None = None,
    traces: bool = False,
) -> dict[str, Any]:
    """The metadata a sailmesh-rendered bootstrap carries (the inverse of the functions above)."""
    meta: dict[str, Any] = {
        "NAMESPACE": namespace,
        "LABELS": dict(labels),
        "SERVICE_ACCOUNT": service_account,
        "INTERCEPTION_MODE": interception,
    }
    if workload_name:
        meta["WORKLOAD_NAME"] = workload_name
    if explicit_port is not None:
        meta["SAILMESH_EXPLICIT_PORT"] = str(explicit_port)
    if access_log is not None:
        meta["SAILMESH_ACCESS_LOG"] = access_log
    if gateway_bind is not None:
        meta["SAILMESH_GATEWAY_BIND"] = gateway_bind
    if gateway_ports:
        meta["SAILMESH_GATEWAY_PORTS"] = ",".join(
            f"{a}={b}" for a, b in sorted(gateway_ports.items())
        )
    if sds:
        meta["SAILMESH_SDS"] = "true"
    if traces:
        meta["SAILMESH_TRACES"] = "true"
    return meta
