"""The service graph: nodes, edges and their health, from hop rates (pure).

In: :class:`~sailmesh.telemetry.history.HopRates` over a window. Out: a :class:`Graph` of
namespaces (boxes), services and workloads (nodes) and edges with their traffic, each with a
health: ``healthy``, ``degraded`` or ``failure`` by error rate, with Kiali's default thresholds
(:data:`DEGRADED`, :data:`FAILURE`), ``idle`` without traffic in the window. A node's health is
the worst of its inbound edges' (what its callers see). Only hops with traffic in the window
are drawn (Kiali's default, without idle nodes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sailmesh.telemetry.history import HopRates
from sailmesh.telemetry.traffic import NodeRef

#: Error rates (share of requests) from which an edge is degraded, or failing (Kiali's).
DEGRADED = 0.001
FAILURE = 0.2
_ORDER = {"idle": 0, "healthy": 1, "degraded": 2, "failure": 3}


def health(rates: HopRates) -> str:
    if not rates.active:
        return "idle"
    if rates.error_rate >= FAILURE:
        return "failure"
    if rates.error_rate >= DEGRADED:
        return "degraded"
    return "healthy"


def worst(healths: Iterable[str]) -> str:
    return max(healths, key=_ORDER.__getitem__, default="healthy")


@dataclass(frozen=True)
class GraphNode:
    ref: NodeRef
    health: str
    rps_in: float
    rps_out: float


@dataclass(frozen=True)
class GraphEdge:
    rates: HopRates
    health: str


@dataclass(frozen=True)
class Graph:
    namespaces: tuple[str, ...]
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]


def build_graph(rates: Iterable[HopRates]) -> Graph:
    edges = tuple(GraphEdge(r, health(r)) for r in rates if r.active)
    refs: dict[str, NodeRef] = {}
    inbound: dict[str, list[GraphEdge]] = {}
    rps_out: dict[str, float] = {}
    for e in edges:
        source, destination = e.rates.hop.source, e.rates.hop.destination
        refs.setdefault(source.id, source)
        refs.setdefault(destination.id, destination)
        inbound.setdefault(destination.id, []).append(e)
        rps_out[source.id] = rps_out.get(source.id, 0.0) + e.rates.rps
    nodes = tuple(
        GraphNode(
            ref,
            worst(e.health for e in inbound.get(node_id, [])),
            sum(e.rates.rps for e in inbound.get(node_id, [])),
            rps_out.get(node_id, 0.0),
        )
        for node_id, ref in sorted(refs.items())
    )
    namespaces = tuple(sorted({n.ref.namespace for n in nodes if n.ref.namespace}))
    return Graph(namespaces, nodes, edges)
