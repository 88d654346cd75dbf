"""Telemetry wiring of a local mesh: each pod's merged metrics and the control plane's
monitoring endpoint.

- The agent socket (``<run>/agent.sock``, behind every pod Envoy's port 15020, see
  :mod:`sailmesh.xds.bootstrap_metrics`): ``GET /stats/prometheus`` with the proxy's node id
  in ``x-sailmesh-proxy`` answers the pod's merged view: the runtime scrapes the pod (its
  Envoy's stats, its app's metrics), the control plane names the series
  (:class:`~sailmesh.controlplane.telemetry.TelemetryView`).
- The OTLP/HTTP trace collector on the same socket: ``POST /v1/traces`` (protobuf
  ``ExportTraceServiceRequest``) is kept in the control plane's trace store. Envoy's
  OpenTelemetry tracer exports over gRPC to the control plane's own receiver
  (:mod:`sailmesh.controlplane.otlp_receiver`). What either takes is, when the user named one
  (``forward_url``), forwarded as it came to that OTLP/HTTP endpoint (best effort: at most
  :data:`FORWARD_QUEUE` requests wait, the oldest are dropped beyond).
- The monitoring port (Istio's 15014), on a socket the runtime opens inside the pod network
  when the Prometheus add-on runs: ``/metrics`` (the control plane's own metrics) and
  ``/sd/targets`` (Prometheus HTTP service discovery: every pod's merged-metrics port).
"""

from __future__ import annotations

import asyncio
import json
import socket

from sailmesh.app.otlp_forward import OtlpForwarder
from sailmesh.controlplane.monitoring import HttpServer, Request, Response
from sailmesh.controlplane.server import ControlPlane
from sailmesh.controlplane.telemetry import TelemetryView
from sailmesh.registry.model import frozen_map
from sailmesh.runtime.host import RuntimeHost
from sailmesh.telemetry.peers import Peer
from sailmesh.telemetry.traces import TraceDecodeError
from sailmesh.xds.bootstrap_metrics import PROXY_HEADER
from sailmesh.xds.tracing import OTLP_TRACES_PATH

MONITORING_PORT = 15014
METRICS_PATH = "/metrics"
TARGETS_PATH = "/sd/targets"
STATS_PATH = "/stats/prometheus"


class MeshMonitoring:
    """Start with :meth:`start` (the agent socket) before the runtime starts pods;
    :meth:`serve_monitoring` adds the monitoring port on a socket made by the runtime."""

    def __init__(self, cp: ControlPlane, host: RuntimeHost, forward_url: str | None = None) -> None:
        self.cp = cp
        self.host = host
        self.view = TelemetryView(cp, extra_peers=self._runtime_peers)
        self.forwarder = OtlpForwarder(forward_url) if forward_url else None
        if self.forwarder is not None:
            cp.otlp.listeners.append(self.forwarder.submit)
        self._agent = HttpServer(
            {STATS_PATH: self._pod_metrics}, post_routes={OTLP_TRACES_PATH: self._spans}
        )
        self._monitoring = HttpServer(
            {METRICS_PATH: self._control_plane_metrics, TARGETS_PATH: self._targets}
        )

    async def start(self) -> None:
        await self._agent.serve_unix(self.host.agent_socket)

    async def serve_monitoring(self, sock: socket.socket) -> None:
        await self._monitoring.serve_socket(sock)

    async def stop(self) -> None:
        await self._monitoring.stop()
        await self._agent.stop()
        if self.forwarder is not None:
            await self.forwarder.stop()

    async def _spans(self, request: Request) -> Response:
        try:
            self.cp.traces.ingest(request.body)
        except TraceDecodeError as e:
            return Response(400, f"{e}\n".encode())
        if self.forwarder is not None:
            self.forwarder.submit(request.body)
        # an empty ExportTraceServiceResponse: everything was accepted
        return Response(200, b"", "application/x-protobuf")

    def _runtime_peers(self) -> list[tuple[str, Peer]]:
        return [
            (
                ip,
                Peer(
                    plan.owner.partition("/")[2] or plan.name,
                    plan.namespace,
                    frozen_map(plan.label_map),
                    plan.service_account,
                ),
            )
            for ip, plan in self.host.running_pods()
        ]

    async def _pod_metrics(self, request: Request) -> Response:
        node_id = request.headers.get(PROXY_HEADER, "")
        parts = node_id.split("~")
        pod, _, namespace = parts[2].rpartition(".") if len(parts) == 4 else ("", "", "")
        scraped = await asyncio.to_thread(self.host.pod_metrics, pod, namespace)
        if scraped is None:
            return Response(404, f"no running pod for proxy {node_id!r}\n".encode())
        text = await asyncio.to_thread(self.view.merged, node_id, *scraped)
        return Response(200, text.encode())

    async def _control_plane_metrics(self, request: Request) -> Response:
        return Response(200, self.cp.metrics.text())

    async def _targets(self, request: Request) -> Response:
        groups = [
            {"targets": [t.address], "labels": {"__metrics_path__": t.path, **dict(t.labels)}}
            for t in self.host.scrape_targets()
        ]
        return Response(200, json.dumps(groups).encode(), "application/json")
