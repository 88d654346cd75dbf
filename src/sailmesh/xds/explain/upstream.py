"""Causes at the upstream: circuit breakers (UO), no healthy host (UH), connection failures
(UF), retries used up (URX), connections closed by either side (DC, UC, UR). Each names the
DestinationRule, Service or VirtualService field, or the pod, behind it."""

from __future__ import annotations

from sailmesh.config.analysis.context import MeshService, Workload
from sailmesh.config.meshconfig import mesh_config_document
from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.xds.explain.lookup import Knob, policy_knobs, subset_index
from sailmesh.xds.explain.situation import Finding, Situation, failure, rule_knobs, upstream_pod
from sailmesh.xds.names import INBOUND_PASSTHROUGH_CLUSTER


def retries(s: Situation) -> Finding:
    """URX: the retry policy that was used up, and what failed on each attempt."""
    answered = s.entry.details == "via_upstream"
    if answered:  # the upstream (its sidecar, for a mesh pod) answered the code each time
        what = f"{upstream_pod(s)} answered {s.entry.code} to every attempt"
        fix = f"see why it answered {s.entry.code}: sailctl explain --from-logs {upstream_pod(s)}"
    else:
        last = f" (last failure: {failure(s.entry)})" if failure(s.entry) else ""
        what = f"every attempt to reach {s.host} failed{last}"
        fix = "fix the upstream failure; more attempts only delay the error"
    knobs = _target_port(s) if answered else []
    served = s.rule()
    if served is not None:
        vs, i, _ = served
        policy = rule_knobs(vs, i, "retries")
        if policy:
            return Finding("URX", f"retries used up: {what}", tuple(policy + knobs), fix)
    mesh = MeshConfig.from_dict(dict(mesh_config_document(s.ctx.resources)))
    default = {"attempts": mesh.default_retry_attempts, "retryOn": mesh.default_retry_on}
    return Finding(
        "URX",
        f"the mesh's default retries were used up: {what}",
        (Knob(None, "meshConfig.defaultHttpRetryPolicy", default), *knobs),
        fix + " (spec.http[].retries in a VirtualService sets other retries)",
    )


def overflow(s: Situation) -> Finding:
    dr = s.destination_rule()
    if dr is not None and s.upstream is not None:
        knobs = policy_knobs(dr, s.upstream.subset, s.upstream.port, "connectionPool")
        if knobs:
            return Finding(
                "UO",
                f"the circuit breaker of {s.entry.cluster} tripped: more concurrent connections "
                "or requests than the DestinationRule's connection pool allows",
                tuple(knobs),
                "raise these limits, or send fewer concurrent requests",
            )
    return Finding(
        "UO",
        f"Envoy's default circuit breaker of {s.entry.cluster or 'the cluster'} tripped "
        "(1024 connections, pending and active requests): the upstream is overloaded",
        fix="scale the upstream; set connectionPool limits in a DestinationRule to shed load",
    )


def _pods(s: Situation, service: MeshService) -> list[Workload]:
    return s.ctx.workloads_of(service)


def _labels(pods: list[Workload]) -> str:
    return "; ".join(
        f"{p.name}: " + ",".join(f"{k}={v}" for k, v in sorted(p.labels.items())) for p in pods
    )


def no_healthy(s: Situation) -> Finding:
    service = s.service
    if service is None or s.upstream is None:
        return Finding("UH", f"{s.entry.cluster or s.host} has no healthy endpoint")
    pods = _pods(s, service)
    if not pods:
        return Finding(
            "UH",
            f"no running pod backs {service.host}",
            (Knob(service.resource, "spec.selector", dict(service.selector or {})),),
            "start pods whose labels match the selector (sailctl status shows what runs)",
        )
    dr = s.destination_rule()
    index = subset_index(dr, s.upstream.subset) if dr and s.upstream.subset else None
    if dr is not None and index is not None:
        labels = dict(dr.spec.subsets[index].labels or {})
        if not [p for p in pods if all(p.labels.get(k) == v for k, v in labels.items())]:
            return Finding(
                "UH",
                f"subset {s.upstream.subset} selects none of the {len(pods)} pods of "
                f"{service.host} ({_labels(pods)})",
                (Knob(dr, f"spec.subsets[{index}].labels", labels),),
                "fix the subset's labels, or run pods with them",
            )
    knobs = policy_knobs(dr, s.upstream.subset, s.upstream.port, "outlierDetection") if dr else []
    if knobs:
        return Finding(
            "UH",
            f"outlier detection may have ejected every host of {s.entry.cluster}",
            tuple(knobs),
            "fix the failing upstream; or loosen the ejection",
        )
    return Finding("UH", f"the pods of {service.host} are not ready (see `sailctl status`)")


def _service_port(service: MeshService, port: int | None) -> int | None:
    for i, p in enumerate(service.ports):
        if p.number == port:
            return i
    return None


def _target_port(s: Situation) -> list[Knob]:
    """The ``targetPort`` of the Service port the request went to (the port the app must
    listen on)."""
    service = s.service
    if service is None or service.resource.kind != "Service" or s.port is None:
        return []
    index = _service_port(service, s.port)
    if index is None:
        return []
    target = service.ports[index].target_port or service.ports[index].number
    return [Knob(service.resource, f"spec.ports[{index}].targetPort", target)]


def _inbound_target_port(s: Situation, port: int) -> list[Knob]:
    """Services selecting this pod that send their traffic to ``port`` of it."""
    if s.pod is None:
        return []
    out = []
    for service in s.ctx.services:
        if service.resource.kind != "Service" or service.namespace != s.pod.namespace:
            continue
        if not service.selector or s.pod not in s.ctx.workloads_of(service):
            continue
        for i, p in enumerate(service.ports):
            if (p.target_port or p.number) == port:
                out.append(Knob(service.resource, f"spec.ports[{i}].targetPort", port))
    return out


def _inbound(s: Situation) -> bool:
    """Whether the request went from this pod's sidecar to its own app."""
    return (s.upstream is not None and s.upstream.direction == "inbound") or (
        s.entry.cluster == INBOUND_PASSTHROUGH_CLUSTER
    )


def connect_failure(s: Situation) -> Finding:
    """UF: the connection to the upstream (or, inbound, to the app) failed."""
    reason = f" ({failure(s.entry)})" if failure(s.entry) else ""
    target = s.entry.upstream_host or "the upstream host"
    _, _, port_text = target.rpartition(":")
    if _inbound(s) and port_text.isdigit():
        knobs = _inbound_target_port(s, int(port_text))
        return Finding(
            "UF",
            f"nothing listens on port {port_text} of this pod's app{reason}",
            tuple(knobs),
            f"make the app listen on {port_text}, or point targetPort at the port it uses",
        )
    knobs = _target_port(s)
    dr = s.destination_rule()
    if dr is not None and s.upstream is not None:
        knobs += policy_knobs(dr, s.upstream.subset, s.upstream.port, "tls")
    return Finding(
        "UF",
        f"connecting to {upstream_pod(s) or target} failed{reason}: nothing listens there, or "
        "TLS does not match",
        tuple(knobs),
        "check that the app listens on the target port (and the TLS mode matches the server)",
    )


def client_closed(s: Situation) -> Finding:
    took = f" after {s.entry.duration_ms} ms" if s.entry.duration_ms is not None else ""
    return Finding(
        "DC",
        f"the client closed the connection{took}, before {s.host or 'the upstream'} answered: "
        "its own timeout is shorter than the response time",
        fix="raise the calling app's timeout, or make the upstream faster",
    )


def upstream_closed(s: Situation, flag: str) -> Finding:
    target = s.entry.upstream_host or "the upstream"
    _, _, port_text = target.rpartition(":")
    if _inbound(s) and port_text.isdigit():  # this pod's own app closed the connection
        where = f"{s.pod.namespace}/{s.pod.name}" if s.pod else "this pod"
        return Finding(
            flag,
            f"the app of {where} on port {port_text} closed or reset the connection before "
            f"it answered ({failure(s.entry) or 'connection termination'})",
            tuple(_inbound_target_port(s, int(port_text))),
            "check the app's logs: it crashed, restarted, or closed the request's connection",
        )
    dr = s.destination_rule()
    knobs = (
        policy_knobs(dr, s.upstream.subset, s.upstream.port, "connectionPool")
        if dr and s.upstream
        else []
    )
    return Finding(
        flag,
        f"{target} closed or reset the connection mid-request "
        "(the app crashed, restarted, or closed idle connections first)",
        tuple(k for k in knobs if "idleTimeout" in k.path or "maxRequestsPerConnection" in k.path),
        "check the app's logs; keep its idle timeout longer than the connection pool's",
    )
