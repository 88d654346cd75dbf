"""Who talks to whom, counted: Istio's series folded into the hops of a service graph (pure).

In: the ``istio_*`` families of proxies' merged views (:mod:`.aggregate`'s output), one proxy
at a time. Out: a :class:`TrafficSample`, the cumulative counters of each :class:`Hop` as seen
by each reporter at one moment; :mod:`.history` turns two samples into rates.

A request from workload A to service S, served by workload B, makes two hops, as in Kiali's
graph with service nodes: ``A -> S`` and ``S -> B``. Each proxy of a hop reports it (source
and destination); the graph takes one reporter per hop (:func:`preferred`), so nothing is
counted twice: ``A -> S`` from the source's proxy when A has one (it also sees requests that
never reached B: an injected abort, no healthy upstream), ``S -> B`` from B's proxy when B has
one. Requests the source's proxy failed before picking a destination have
``destination_workload="unknown"``; they end at the service node.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sailmesh.telemetry.exposition import Family, Sample
from sailmesh.telemetry.standard import BUCKETS, PREFIX, UNKNOWN

REQUESTS = PREFIX + "requests_total"
DURATION_BUCKET = PREFIX + "request_duration_milliseconds_bucket"
TCP_SENT = PREFIX + "tcp_sent_bytes_total"
TCP_RECEIVED = PREFIX + "tcp_received_bytes_total"
TCP_OPENED = PREFIX + "tcp_connections_opened_total"
MUTUAL_TLS = "mutual_tls"
#: Bucket bounds of the duration histogram, +Inf last.
BOUNDS: tuple[float, ...] = (*BUCKETS, float("inf"))


@dataclass(frozen=True, order=True)
class NodeRef:
    """A graph node: ``kind`` is ``workload``, ``service`` or ``unknown`` (a caller outside
    the mesh); ``app``/``version`` for workloads, as their labels say."""

    kind: str
    namespace: str
    name: str
    app: str = ""
    version: str = ""

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.namespace}/{self.name}" if self.kind != UNKNOWN else UNKNOWN


UNKNOWN_NODE = NodeRef(UNKNOWN, "", UNKNOWN)


@dataclass(frozen=True, order=True)
class Hop:
    source: NodeRef
    destination: NodeRef
    protocol: str  # "http" (HTTP and gRPC) or "tcp"

    @property
    def id(self) -> str:
        return f"{self.source.id}>{self.destination.id}"


@dataclass
class Counters:
    """Cumulative counts of one hop by one reporter: requests (and those answered 5xx or not
    at all), mTLS requests, the duration histogram's cumulative buckets (:data:`BOUNDS`), TCP
    bytes each way and connections."""

    requests: float = 0.0
    errors: float = 0.0
    mtls: float = 0.0
    buckets: list[float] = field(default_factory=lambda: [0.0] * len(BOUNDS))
    sent: float = 0.0
    received: float = 0.0
    connections: float = 0.0
    mtls_connections: float = 0.0

    def add(self, other: Counters) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.mtls += other.mtls
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]
        self.sent += other.sent
        self.received += other.received
        self.connections += other.connections
        self.mtls_connections += other.mtls_connections


#: (reporter, hop) -> counters.
TrafficSample = dict[tuple[str, Hop], Counters]


def _workload(s: Sample, side: str) -> NodeRef:
    name = s.label(f"{side}_workload", UNKNOWN)
    if name == UNKNOWN:
        return UNKNOWN_NODE
    return NodeRef(
        "workload",
        s.label(f"{side}_workload_namespace"),
        name,
        s.label(f"{side}_app") if s.label(f"{side}_app") != UNKNOWN else "",
        s.label(f"{side}_version") if s.label(f"{side}_version") != UNKNOWN else "",
    )


def _service(s: Sample) -> NodeRef:
    host = s.label("destination_service", UNKNOWN)
    name = s.label("destination_service_name") or host
    namespace = s.label("destination_service_namespace")
    if namespace in ("", UNKNOWN):
        namespace = ""
    return NodeRef("service", namespace, name if name != UNKNOWN else host)


def _hops(s: Sample, protocol: str) -> list[Hop]:
    source, service = _workload(s, "source"), _service(s)
    hops = [Hop(source, service, protocol)]
    destination = _workload(s, "destination")
    if destination.kind != UNKNOWN:
        hops.append(Hop(service, destination, protocol))
    return hops


def _is_error(code: str) -> bool:
    """5xx, or no response at all (code 0); Kiali's error rate counts the same."""
    return code.startswith("5") or code in ("0", "")


def _contribution(family: str, s: Sample) -> Counters | None:
    c = Counters()
    mtls = s.label("connection_security_policy") == MUTUAL_TLS
    if family == REQUESTS:
        c.requests = s.value
        c.errors = s.value if _is_error(s.label("response_code")) else 0.0
        c.mtls = s.value if mtls else 0.0
    elif s.name == DURATION_BUCKET:
        bound = s.label("le")
        value = float("inf") if bound in ("+Inf", "Inf") else float(bound)
        if value not in BOUNDS:
            return None
        c.buckets[BOUNDS.index(value)] = s.value
    elif family == TCP_SENT:
        c.sent = s.value
    elif family == TCP_RECEIVED:
        c.received = s.value
    elif family == TCP_OPENED:
        c.connections = s.value
        c.mtls_connections = s.value if mtls else 0.0
    else:
        return None
    return c


_WANTED = {REQUESTS: "http", PREFIX + "request_duration_milliseconds": "http"}
_WANTED |= {TCP_SENT: "tcp", TCP_RECEIVED: "tcp", TCP_OPENED: "tcp"}


def add_proxy(sample: TrafficSample, families: Iterable[Family]) -> None:
    """Fold one proxy's Istio families into ``sample`` (summing what falls together)."""
    for family in families:
        protocol = _WANTED.get(family.name)
        if protocol is None:
            continue
        for s in family.samples:
            contribution = _contribution(family.name, s)
            if contribution is None:
                continue
            reporter = s.label("reporter")
            for hop in _hops(s, protocol):
                found = sample.get((reporter, hop))
                if found is None:
                    sample[(reporter, hop)] = contribution
                    contribution = _copy(contribution)
                else:
                    found.add(contribution)


def _copy(c: Counters) -> Counters:
    out = Counters()
    out.add(c)
    return out


def preferred(hop: Hop, reporters: set[str]) -> str:
    """The reporter whose counts the graph shows for ``hop`` (see the module docstring)."""
    first = "source" if hop.destination.kind == "service" else "destination"
    if first in reporters:
        return first
    return "destination" if first == "source" else "source"
