"""What each dashboard page shows, as JSON-ready dicts, from library functions (no logic of
its own beyond picking and shaping).

In: :class:`Sources`: the control plane (its store, registry, snapshot and proxy status), the
traffic history the control plane samples (:mod:`sailmesh.app.traffic`) and the control-plane
API's runtime calls (Envoy admin of a pod, as ``sailctl proxy-config`` uses). Out: the graph
(:func:`sailmesh.telemetry.graph.build_graph`), a service's or workload's traffic, endpoints
and the objects that apply (:class:`~sailmesh.snapshot.snapshot.MeshSnapshot`'s own lookups),
every config object with its analyzer and not-enforced messages
(:func:`sailmesh.config.analysis.run.analyze`), and each proxy's sync status with Envoy's
NACK text and its certificates' expiry.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import yaml

from sailmesh.config.analysis.framework import as_records
from sailmesh.config.analysis.run import analyze
from sailmesh.config.resource import Resource
from sailmesh.config.unenforced import not_enforced_problems
from sailmesh.controlplane.server import ControlPlane
from sailmesh.registry.model import selector_matches
from sailmesh.snapshot.proxy import Proxy
from sailmesh.telemetry.graph import build_graph
from sailmesh.telemetry.history import WINDOWS, HopRates, TrafficHistory, series
from sailmesh.telemetry.traffic import Hop

#: The shortest step of the charts: Envoy merges its histograms every 5 s.
LATENCY_STEP = 5.0
POLICY_KINDS = ("PeerAuthentication", "AuthorizationPolicy", "RequestAuthentication", "Telemetry")


class RuntimeCalls(Protocol):
    """The control-plane API's runtime routes (``/v1/runtime/<what>``)."""

    def runtime_call(self, what: str, query: dict[str, str]) -> dict[str, Any]: ...


@dataclass
class Sources:
    cp: ControlPlane
    history: TrafficHistory
    api: RuntimeCalls
    #: Seconds between the control plane's traffic samples (the page refreshes as often).
    interval: float


def window_seconds(name: str) -> float:
    if name not in WINDOWS:
        raise ValueError(f"unknown window {name!r}; one of {', '.join(WINDOWS)}")
    return WINDOWS[name]


def _rates_json(r: HopRates, health: str) -> dict[str, Any]:
    return {
        "id": r.hop.id,
        "source": r.hop.source.id,
        "target": r.hop.destination.id,
        "protocol": r.hop.protocol,
        "reporter": r.reporter,
        "rps": r.rps,
        "errorRate": r.error_rate,
        "p50": r.p50_ms,
        "p99": r.p99_ms,
        "tcpBytesPerSecond": r.tcp_bytes_per_second,
        "tcpConnections": r.tcp_connections,
        "mtls": r.mtls,
        "health": health,
    }


def graph(src: Sources, window: str) -> dict[str, Any]:
    rates, covered = src.history.rates(window_seconds(window))
    g = build_graph(rates)
    return {
        "window": window,
        "seconds": covered,
        "interval": src.interval,
        "namespaces": list(g.namespaces),
        "nodes": [
            {
                "id": n.ref.id,
                "kind": n.ref.kind,
                "namespace": n.ref.namespace,
                "name": n.ref.name,
                "app": n.ref.app,
                "version": n.ref.version,
                "health": n.health,
                "rpsIn": n.rps_in,
                "rpsOut": n.rps_out,
            }
            for n in g.nodes
        ],
        "edges": [_rates_json(e.rates, e.health) for e in g.edges],
    }


def traffic(src: Sources, node_id: str, window: str) -> dict[str, Any]:
    """Inbound and outbound rates of one node over time (for the charts)."""
    seconds = window_seconds(window)
    samples = src.history.samples(seconds)
    step = max(seconds / 60, LATENCY_STEP, src.interval)

    def points(select: Callable[[Hop], bool]) -> list[dict[str, Any]]:
        return [
            {"t": p.at, "rps": p.rps, "errorRate": p.error_rate, "p50": p.p50_ms, "p99": p.p99_ms}
            for p in series(samples, select, step)
        ]

    return {
        "inbound": points(lambda h: h.destination.id == node_id),
        "outbound": points(lambda h: h.source.id == node_id),
    }


# --- config --------------------------------------------------------------------------------
def _messages(resources: list[Resource]) -> dict[str, list[dict[str, Any]]]:
    """Analyzer and not-enforced messages by ``Kind namespace/name``."""
    found = analyze(resources) + not_enforced_problems(resources)
    out: dict[str, list[dict[str, Any]]] = {}
    for problem, record in zip(found, as_records(found), strict=True):
        key = str(problem.ref) if problem.ref else ""
        out.setdefault(key, []).append(record)
    return out


def _ref(r: Resource) -> str:
    return f"{r.kind} {r.namespace}/{r.name}" if r.namespace else f"{r.kind} {r.name}"


def _summary(r: Resource, messages: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    found = messages.get(_ref(r), [])
    levels = {m["level"] for m in found}
    status = "Error" if "Error" in levels else "Warning" if "Warning" in levels else "OK"
    return {
        "kind": r.kind,
        "namespace": r.namespace,
        "name": r.name,
        "ref": _ref(r),
        "status": status,
        "messages": found,
    }


def config(src: Sources) -> dict[str, Any]:
    resources = src.cp.store.list()
    messages = _messages(resources)
    known = {_ref(r) for r in resources}
    return {
        "revision": src.cp.store.revision,
        "items": [_summary(r, messages) for r in resources],
        "detached": [m for key, ms in messages.items() if key not in known for m in ms],
    }


def config_object(src: Sources, kind: str, namespace: str, name: str) -> dict[str, Any]:
    found = [r for r in src.cp.store.list(kind=kind, namespace=namespace or None) if r.name == name]
    if not found:
        raise LookupError(f"no {kind} {namespace}/{name}")
    r = found[0]
    return {
        **_summary(r, _messages(src.cp.store.list())),
        "yaml": yaml.safe_dump(r.to_dict(), sort_keys=False),
    }


# --- services and workloads ----------------------------------------------------------------
def _applying(src: Sources, proxies: list[Proxy], hostname: str | None) -> dict[str, Any]:
    snap = src.cp.snapshot()
    refs: dict[str, dict[str, str]] = {}

    def add(r: Resource) -> None:
        refs.setdefault(_ref(r), {"kind": r.kind, "namespace": r.namespace, "name": r.name})

    namespaces = {p.namespace for p in proxies}
    if hostname is not None:
        viewer = hostname.split(".")[1] if hostname.count(".") >= 1 else "default"
        namespaces.add(viewer)
        for ns in sorted(namespaces):
            for vs in snap.virtual_services(ns):
                if hostname in snap.vs_hosts(vs):
                    add(vs)
            dr = snap.destination_rule(ns, hostname)
            if dr is not None:
                add(dr)
    for proxy in proxies:
        for kind in POLICY_KINDS:
            for r in snap.policies_for(kind, proxy):
                add(r)
    return {"objects": sorted(refs.values(), key=lambda o: (o["kind"], o["name"]))}


def _proxies_of(src: Sources, namespace: str, labels: dict[str, str] | None) -> list[Proxy]:
    return [
        p
        for p in src.cp.connected.values()
        if p.namespace == namespace and labels is not None and selector_matches(labels, p.labels)
    ]


def service(src: Sources, namespace: str, name: str, window: str) -> dict[str, Any]:
    view = src.cp.registry.view()
    svc = next((s for s in view.services if s.namespace == namespace and s.name == name), None)
    if svc is None:
        raise LookupError(f"no service {namespace}/{name}")
    endpoints = [
        {
            "address": ep.address,
            "port": ep.port,
            "servicePort": port.port,
            "healthy": ep.healthy,
            "workload": ep.workload,
            "version": ep.labels.get("version", ""),
        }
        for port in svc.ports
        for ep in view.endpoints_for(svc.hostname, port.port)
    ]
    proxies = _proxies_of(src, namespace, dict(svc.selector) if svc.selector else None)
    applying = _applying(src, proxies, svc.hostname)
    return {
        "namespace": namespace,
        "name": name,
        "hostname": svc.hostname,
        "vip": svc.vip,
        "ports": [{"name": p.name, "port": p.port, "protocol": str(p.protocol)} for p in svc.ports],
        "endpoints": endpoints,
        "outlierEjected": _ejected(src, proxies, svc.hostname),
        **applying,
        "messages": _messages_for(src, applying["objects"]),
        "traffic": traffic(src, f"service:{namespace}/{name}", window),
    }


def workload(src: Sources, namespace: str, name: str, window: str) -> dict[str, Any]:
    proxies = [
        p
        for node_id, (_, peer) in src.cp.pusher.peers().items()
        if peer.workload == name and peer.namespace == namespace
        for p in [src.cp.connected.get(node_id)]
        if p is not None
    ]
    applying = _applying(src, proxies, None)
    return {
        "namespace": namespace,
        "name": name,
        "proxies": [p.id for p in proxies],
        "labels": dict(proxies[0].labels) if proxies else {},
        **applying,
        "messages": _messages_for(src, applying["objects"]),
        "traffic": traffic(src, f"workload:{namespace}/{name}", window),
    }


def _messages_for(src: Sources, objects: list[dict[str, str]]) -> list[dict[str, Any]]:
    messages = _messages(src.cp.store.list())
    wanted = {
        f"{o['kind']} {o['namespace']}/{o['name']}"
        if o["namespace"]
        else f"{o['kind']} {o['name']}"
        for o in objects
    }
    return [m for key in sorted(wanted) for m in messages.get(key, [])]


def _ejected(src: Sources, proxies: list[Proxy], hostname: str) -> list[str]:
    """Endpoints of ``hostname`` some connected caller's Envoy has ejected (outlier
    detection), from each sidecar's ``/clusters`` (Envoy's ``failed_outlier_check`` flag)."""
    out: set[str] = set()
    for proxy in list(src.cp.connected.values()):
        body = _admin(src, proxy, "/clusters")
        for line in (body or "").splitlines():
            # outbound|9080|v1|reviews.default.svc.cluster.local::10.0.0.5:9080::health_flags::...
            if f"|{hostname}::" in line and "health_flags::" in line and "outlier" in line:
                out.add(line.split("::")[1])
    return sorted(out)


# --- proxies -------------------------------------------------------------------------------
def _admin(src: Sources, proxy: Proxy, path: str) -> str | None:
    try:
        answer = src.api.runtime_call(
            "admin", {"pod": proxy.pod_name, "namespace": proxy.namespace, "path": path}
        )
    except Exception:  # no runtime, or the pod is gone: nothing to show
        return None
    body = answer.get("body")
    return body if answer.get("status") == 200 and isinstance(body, str) else None


def _certificates(src: Sources, proxy: Proxy) -> list[dict[str, Any]]:
    body = _admin(src, proxy, "/certs")
    if not body:
        return []
    out = []
    for cert in json.loads(body).get("certificates", []):
        for kind, entries in (
            ("ca", cert.get("ca_cert", [])),
            ("cert", cert.get("cert_chain", [])),
        ):
            for entry in entries:
                sans = [s.get("uri", "") for s in entry.get("subject_alt_names", [])]
                out.append(
                    {
                        "kind": kind,
                        "subject": entry.get("subject", ""),
                        "sans": [s for s in sans if s],
                        "expires": entry.get("expiration_time", ""),
                        "daysLeft": entry.get("days_until_expiration"),
                    }
                )
    return out


def proxies(src: Sources) -> dict[str, Any]:
    connected = src.cp.connected
    records = src.cp.proxy_status()
    for record in records:
        proxy = connected.get(record["node"])
        record["pod"] = f"{proxy.namespace}/{proxy.pod_name}" if proxy else ""
        record["certificates"] = _certificates(src, proxy) if proxy else []
    return {"proxies": records}


#: What a proxy's config summary may ask Envoy for (``/config_dump?resource=``).
DUMP_RESOURCES = {
    "clusters": "dynamic_active_clusters",
    "listeners": "dynamic_listeners",
    "routes": "dynamic_route_configs",
}


def proxy_config(src: Sources, node_id: str, what: str) -> dict[str, Any]:
    """The proxy's own view of its ``what`` (Envoy's config dump), as the page lists it."""
    if what not in DUMP_RESOURCES:
        raise ValueError(f"unknown config {what!r}; one of {', '.join(DUMP_RESOURCES)}")
    proxy = src.cp.connected.get(node_id)
    if proxy is None:
        raise LookupError(f"no connected proxy {node_id!r}")
    body = _admin(src, proxy, f"/config_dump?resource={DUMP_RESOURCES[what]}")
    if body is None:
        raise LookupError(f"proxy {node_id!r} did not answer its admin port")
    return {"node": node_id, "what": what, "dump": json.loads(body)}
