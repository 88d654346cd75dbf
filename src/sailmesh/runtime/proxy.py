"""Envoy for a pod: its bootstrap (node id, metadata, ADS over a Unix socket) and admin access.

The control plane's ADS listens on a Unix socket: it is reachable from every pod's network
namespace (Envoy runs as uid 1337, so the socket is group-1337 accessible) without exposing a
TCP port. A sidecar's admin API listens on 127.0.0.1:15000 inside its pod; the runtime reaches
it with a socket opened in that namespace. In explicit mode (no namespaces) every proxy gets
its own admin port on the host's 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any

from sailmesh.controlplane.proxies import node_metadata_for
from sailmesh.runtime.sandbox.capture import envoy_mark_socket_options
from sailmesh.runtime.sandbox.forward import socket_in_netns
from sailmesh.runtime.workloads import PodPlan
from sailmesh.xds.bootstrap import UnixAddress, render_bootstrap

ADMIN_PORT = 15000


def node_id(plan: PodPlan, ip: str) -> str:
    kind = "router" if plan.gateway else "sidecar"
    return f"{kind}~{ip}~{plan.name}.{plan.namespace}~{plan.namespace}.svc.cluster.local"


def bootstrap(
    plan: PodPlan,
    ip: str,
    xds_socket: Path,
    *,
    explicit_port: int | None = None,
    admin_port: int = ADMIN_PORT,
    gateway_ports: dict[int, int] | None = None,
    socket_mark: int | None = None,
) -> dict[str, Any]:
    """The pod's Envoy bootstrap. Explicit mode: ``explicit_port`` (the sidecar's http_proxy
    listener, interception NONE), a per-pod ``admin_port`` and, for a gateway,
    ``gateway_ports`` (server port -> port bound on 127.0.0.1). Userns mode: ``socket_mark``,
    set (SO_MARK) on every upstream socket so the capture rules let Envoy's traffic out.
    The protocol is delta xDS unless the pod's proxy config turns it off (``plan.delta_xds``)."""
    meta = node_metadata_for(
        plan.namespace,
        plan.label_map,
        plan.service_account,
        "NONE" if explicit_port is not None else "REDIRECT",
        explicit_port,
        access_log="/dev/stdout",
        gateway_bind="127.0.0.1" if gateway_ports is not None else None,
        gateway_ports=gateway_ports,
    )
    return render_bootstrap(
        node_id=node_id(plan, ip),
        cluster=f"{plan.label_map.get('app', plan.name)}.{plan.namespace}",
        xds_address=UnixAddress(str(xds_socket)),
        metadata=meta,
        delta=plan.delta_xds,
        admin_host="127.0.0.1",
        admin_port=admin_port,
        upstream_socket_options=(
            envoy_mark_socket_options(socket_mark) if socket_mark is not None else ()
        ),
    )


def envoy_argv(binary: Path, config: Path, concurrency: int = 1) -> list[str]:
    return [
        str(binary),
        "-c",
        str(config),
        "--disable-hot-restart",
        "--log-level",
        "warning",
        "--concurrency",
        str(concurrency),
        "--file-flush-interval-msec",
        "500",  # access logs reach `sailctl logs` within half a second
        "--drain-time-s",
        "2",
        "--parent-shutdown-time-s",
        "3",
    ]


def admin_request(
    netns_file: Path | None, path: str, port: int = ADMIN_PORT, timeout: float = 2.0
) -> tuple[int, str]:
    """GET ``path`` from an Envoy admin API on 127.0.0.1:``port`` inside a pod namespace."""
    sock = socket_in_netns(netns_file)
    sock.setblocking(True)
    sock.settimeout(timeout)
    try:
        sock.connect(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.sock = sock
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    finally:
        conn.close()


def envoy_ready(netns_file: Path | None, port: int = ADMIN_PORT) -> bool:
    try:
        status, body = admin_request(netns_file, "/ready", port, timeout=0.5)
    except (TimeoutError, OSError):
        return False
    return status == 200 and body.strip() == "LIVE"


def config_dump(netns_file: Path | None, port: int = ADMIN_PORT) -> dict[str, Any]:
    status, body = admin_request(netns_file, "/config_dump?include_eds", port, timeout=5)
    if status != 200:
        raise OSError(f"config_dump returned {status}: {body[:200]}")
    data: dict[str, Any] = json.loads(body)
    return data
