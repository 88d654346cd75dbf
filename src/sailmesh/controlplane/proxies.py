"""Who is connecting: Envoy's node (id + metadata) to a :class:`Proxy` and translation options.

Node metadata follows Istio's keys where Istio has one: ``LABELS`` (map), ``NAMESPACE``,
``SERVICE_ACCOUNT``, ``INTERCEPTION_MODE`` (``REDIRECT`` or ``NONE``); sailmesh adds
``SAILMESH_EXPLICIT_PORT`` (the http_proxy listener port of an explicit-mode proxy) and
``SAILMESH_ACCESS_LOG`` (access log path, ``""`` for none).
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

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
    )


def options_from_node(node: Any) -> TranslateOptions:
    meta = node_metadata(node)
    kwargs: dict[str, Any] = {}
    if "SAILMESH_EXPLICIT_PORT" in meta:
        kwargs["explicit_port"] = int(meta["SAILMESH_EXPLICIT_PORT"])
    if "SAILMESH_ACCESS_LOG" in meta:
        kwargs["access_log_path"] = str(meta["SAILMESH_ACCESS_LOG"])
    return TranslateOptions(**kwargs)


def node_metadata_for(
    namespace: str,
    labels: dict[str, str],
    service_account: str,
    interception: InterceptionMode = "REDIRECT",
    explicit_port: int | None = None,
    access_log: str | None = None,
) -> dict[str, Any]:
    """The metadata a sailmesh-rendered bootstrap carries (the inverse of the functions above)."""
    meta: dict[str, Any] = {
        "NAMESPACE": namespace,
        "LABELS": dict(labels),
        "SERVICE_ACCOUNT": service_account,
        "INTERCEPTION_MODE": interception,
    }
    if explicit_port is not None:
        meta["SAILMESH_EXPLICIT_PORT"] = str(explicit_port)
    if access_log is not None:
        meta["SAILMESH_ACCESS_LOG"] = access_log
    return meta
