"""The running mesh as sailctl's troubleshooting verbs read it: config plus running pods.

In: the control-plane API (``/v1/config``, ``/v1/runtime/status``). Out: an analysis context
(:class:`~sailmesh.config.analysis.context.AnalysisContext`, live when a runtime reports its
pods), the pod rows, pods by IP and the ingress gateways' loopback ports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sailmesh.cli.client import call, fail_on_error


@dataclass
class MeshView:
    ctx: Any
    pods: list[dict[str, Any]]
    gateway_ports: list[dict[str, Any]] = field(default_factory=list)

    @property
    def by_ip(self) -> dict[str, str]:
        return {r["ip"]: f"{r['namespace']}/{r['name']}" for r in self.pods if r.get("ip")}

    @property
    def exposed(self) -> dict[tuple[str, str, int], int]:
        return {(g["namespace"], g["pod"], g["port"]): g["local"] for g in self.gateway_ports}

    def row(self, namespace: str, name: str) -> dict[str, Any]:
        return next((r for r in self.pods if (r["namespace"], r["name"]) == (namespace, name)), {})

    def workload(self, namespace: str, name: str) -> Any:
        return next(
            (w for w in self.ctx.workloads if (w.namespace, w.name) == (namespace, name)), None
        )


def mesh_view(socket_path: Path | None) -> MeshView:
    from sailmesh.app.mesh_inputs import mesh_resources
    from sailmesh.config.analysis.context import AnalysisContext

    status, body = call(socket_path, "GET", "/v1/config")
    fail_on_error(status, body)
    runtime_status, runtime = call(socket_path, "GET", "/v1/runtime/status")
    live = runtime_status == 200
    pods = list(runtime["pods"]) if live else []
    resources, _ = mesh_resources(body["items"], pods)
    ports = list(runtime.get("gatewayPorts") or []) if live else []
    return MeshView(AnalysisContext(resources, live=live), pods, ports)
