"""The request being explained, in its mesh: what every cause reads, and what it returns.

In: the access-log entry, the mesh (config and running pods), the proxy's namespace and pod,
and the running pods by IP. Out, per cause: a :class:`Finding` (cause, knobs, fix).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sailmesh.config.analysis.context import AnalysisContext, MeshService, Workload
from sailmesh.config.resource import Resource
from sailmesh.xds.explain.accesslog import AccessLogEntry
from sailmesh.xds.explain.lookup import (
    Knob,
    Upstream,
    destination_rule,
    gateways_of,
    served_by,
    spec_of,
    virtual_services,
)


@dataclass(frozen=True)
class Finding:
    flag: str
    cause: str
    knobs: tuple[Knob, ...] = ()
    fix: str = ""


@dataclass
class Situation:
    entry: AccessLogEntry
    ctx: AnalysisContext
    namespace: str
    pod: Workload | None = None
    gateway: bool = False
    #: Running pods by IP (``10.244.0.5`` -> ``default/reviews-v1-0``), to name upstream hosts.
    pods_by_ip: Mapping[str, str] = field(default_factory=dict)
    upstream: Upstream | None = field(init=False)
    host: str = field(init=False)
    gateways: list[Resource] = field(init=False)

    def __post_init__(self) -> None:
        self.upstream = Upstream.parse(self.entry.cluster) if self.entry.cluster else None
        self.gateways = gateways_of(self.ctx, self.pod) if self.gateway else []
        host = self.entry.host
        if self.upstream is not None and self.upstream.direction == "outbound":
            host = host or self.upstream.host
        self.host = host if self.gateways else self.ctx.resolve_host(host, self.namespace)

    @property
    def port(self) -> int | None:
        return self.upstream.port if self.upstream else self.entry.port

    @property
    def service(self) -> MeshService | None:
        host = self.upstream.host if self.upstream else self.host
        return self.ctx.find_service(host, self.namespace) if host else None

    def virtual_services(self) -> list[Resource]:
        return virtual_services(self.ctx, self.host, self.namespace, self.gateways)

    def rule(self) -> tuple[Resource, int, Any] | None:
        return served_by(self.virtual_services(), self.entry.path, self.entry.method, self.upstream)

    def destination_rule(self) -> Resource | None:
        if self.upstream is None:
            return None
        return destination_rule(self.ctx, self.upstream.host, self.namespace)


def rule_knobs(vs: Resource, index: int, field_name: str) -> list[Knob]:
    rule = (spec_of(vs).get("http") or [])[index]
    if field_name not in rule:
        return []
    return [Knob(vs, f"spec.http[{index}].{field_name}", rule[field_name])]


def failure(entry: AccessLogEntry) -> str:
    """Envoy's words for the last upstream failure (transport failure, else response details)."""
    text = entry.upstream_failure or (entry.details if entry.details != "via_upstream" else "")
    return text.replace("_", " ") if text else ""


def upstream_pod(s: Situation) -> str:
    """``default/details-v1-0`` for the upstream host's IP, or the address itself."""
    ip = s.entry.upstream_host.rpartition(":")[0]
    return s.pods_by_ip.get(ip, s.entry.upstream_host)
