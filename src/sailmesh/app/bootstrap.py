"""The bootstrap renderer the runtime is handed: a pod's :class:`BootstrapRequest` (runtime
terms) to Envoy's bootstrap document, through :mod:`sailmesh.xds`'s node metadata and
bootstrap rendering."""

from __future__ import annotations

from typing import Any

from sailmesh.runtime.proxy import BootstrapRequest
from sailmesh.runtime.sandbox.capture import envoy_mark_socket_options
from sailmesh.xds.bootstrap import UnixAddress, render_bootstrap
from sailmesh.xds.bootstrap_metrics import MetricsPorts
from sailmesh.xds.node import node_metadata_for


def render_pod_bootstrap(request: BootstrapRequest) -> dict[str, Any]:
    """Envoy's bootstrap for ``request`` (ADS over the request's Unix socket)."""
    explicit = request.explicit_port is not None
    agent = str(request.agent_socket) if request.agent_socket is not None else None
    metrics = None
    if request.metrics_ports and not explicit:
        metrics = MetricsPorts(agent_socket=agent)
    metadata = node_metadata_for(
        request.namespace,
        dict(request.labels),
        request.service_account,
        "NONE" if explicit else "REDIRECT",
        request.explicit_port,
        access_log=request.access_log,
        gateway_bind="127.0.0.1" if request.gateway_ports is not None else None,
        gateway_ports=dict(request.gateway_ports) if request.gateway_ports is not None else None,
        sds=request.sds_socket is not None,
        workload_name=request.workload_name or None,
        traces=metrics is not None and agent is not None,  # pods the control plane monitors
    )
    mark = request.socket_mark
    return render_bootstrap(
        node_id=request.node_id,
        cluster=request.cluster,
        xds_address=UnixAddress(str(request.xds_socket)),
        metadata=metadata,
        delta=request.delta,
        admin_host="127.0.0.1",
        admin_port=request.admin_port,
        upstream_socket_options=envoy_mark_socket_options(mark) if mark is not None else (),
        sds_socket=str(request.sds_socket) if request.sds_socket is not None else None,
        metrics=metrics,
    )
