"""Envoy for a pod: what its bootstrap says (node id, identity, ADS over a Unix socket), how it
runs, and admin access.

The control plane's ADS listens on a Unix socket: it is reachable from every pod's network
namespace (Envoy runs as uid 1337, so the socket is group-1337 accessible) without exposing a
TCP port. A sidecar's admin API listens on 127.0.0.1:15000 inside its pod; the runtime reaches
it with a socket opened in that namespace. In explicit mode (no namespaces) every proxy gets
its own admin port on the host's 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sailmesh.runtime.sandbox.forward import socket_in_netns
from sailmesh.runtime.workloads import PodPlan

ADMIN_PORT = 15000


@dataclass(frozen=True)
class BootstrapRequest:
    """What a pod's Envoy bootstrap must say, in the runtime's terms. The composition root
    (the app package) hands the runtime a :data:`BootstrapRenderer` that turns it into
    Envoy's bootstrap document; the runtime knows pods and sockets, not xDS."""

    node_id: str
    cluster: str
    namespace: str
    labels: Mapping[str, str]
    service_account: str
    xds_socket: Path
    delta: bool
    admin_port: int = ADMIN_PORT
    #: Explicit mode: the sidecar's http_proxy listener port (interception NONE).
    explicit_port: int | None = None
    #: Explicit mode, gateways: Gateway server port -> port bound on 127.0.0.1.
    gateway_ports: Mapping[int, int] | None = None
    #: Userns mode: SO_MARK set on every upstream socket, so the capture rules let it out.
    socket_mark: int | None = None
    access_log: str = "/dev/stdout"
    #: The pod's node-agent SDS socket (``sds-grpc`` cluster); None: no SDS (the default).
    sds_socket: Path | None = None
    #: The owning workload's name (a Deployment's), for telemetry labels.
    workload_name: str = ""
    #: The control plane's socket behind the pod's merged-metrics port 15020 (None: none).
    agent_socket: Path | None = None
    #: Whether the proxy listens on the pod's metrics ports (15090, 15020): not when pods
    #: share the host's network (explicit mode).
    metrics_ports: bool = True


BootstrapRenderer = Callable[[BootstrapRequest], dict[str, Any]]
"""Renders a :class:`BootstrapRequest` as Envoy's bootstrap (a JSON-ready dict)."""


def node_id(plan: PodPlan, ip: str) -> str:
    kind = "router" if plan.gateway else "sidecar"
    return f"{kind}~{ip}~{plan.name}.{plan.namespace}~{plan.namespace}.svc.cluster.local"


def bootstrap_request(
    plan: PodPlan,
    ip: str,
    xds_socket: Path,
    *,
    explicit_port: int | None = None,
    admin_port: int = ADMIN_PORT,
    gateway_ports: Mapping[int, int] | None = None,
    socket_mark: int | None = None,
    agent_socket: Path | None = None,
    metrics_ports: bool = True,
    sds_socket: Path | None = None,
) -> BootstrapRequest:
    """The bootstrap of the pod ``plan`` at ``ip``. Explicit mode: ``explicit_port``, a per-pod
    ``admin_port`` and, for a gateway, ``gateway_ports``. Userns mode: ``socket_mark``. The
    protocol is delta xDS unless the pod's proxy config turns it off (``plan.delta_xds``).
    ``agent_socket``: the control plane's socket behind the merged-metrics port;
    ``metrics_ports``: False when pods share the host's network (the proxy would listen on the
    host's 15090/15020). ``sds_socket``: the pod's node agent (the pod has a workload
    identity)."""
    return BootstrapRequest(
        node_id=node_id(plan, ip),
        cluster=f"{plan.label_map.get('app', plan.name)}.{plan.namespace}",
        namespace=plan.namespace,
        labels=dict(plan.label_map),
        service_account=plan.service_account,
        xds_socket=xds_socket,
        delta=plan.delta_xds,
        admin_port=admin_port,
        explicit_port=explicit_port,
        gateway_ports=gateway_ports,
        socket_mark=socket_mark,
        workload_name=plan.owner.partition("/")[2] or plan.name,
        agent_socket=agent_socket,
        metrics_ports=metrics_ports,
        sds_socket=sds_socket,
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
        "--component-log-level",
        "misc:error",  # one deprecation warning per stats access logger per update otherwise
        "--drain-time-s",
        "2",
        "--parent-shutdown-time-s",
        "3",
    ]


def admin_request(
    netns_file: Path | None,
    path: str,
    port: int = ADMIN_PORT,
    timeout: float = 2.0,
    method: str = "GET",
) -> tuple[int, str]:
    """GET (or POST) ``path`` on an Envoy admin API on 127.0.0.1:``port`` in a pod namespace."""
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
        conn.request(method, path)
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
