"""Raw per-proxy series to Istio's standard metrics (the merged view's core; pure).

In: the families parsed from one proxy's ``/stats/prometheus`` (:mod:`.exposition`), the
proxy itself as a :class:`~sailmesh.telemetry.peers.Peer`, a
:class:`~sailmesh.telemetry.peers.PeerDirectory` and the proxy's
:class:`~sailmesh.telemetry.policy.MetricsPolicy`. Out: ``istio_*`` families with Istio's
label set in Istio's order (:func:`istio_labels` documents each label), series that fall
together summed (counters, and histogram buckets, sums and counts), the Telemetry API's
overrides applied: disabled metrics dropped, REMOVEd labels dropped, UPSERTed labels set from
the ``tag_<label>`` raw tags. gRPC message counters count streams, each multiplied by the
messages it carried (:func:`~sailmesh.telemetry.raw.message_count`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sailmesh.telemetry import raw, standard
from sailmesh.telemetry.exposition import Family, Labels, Sample
from sailmesh.telemetry.peers import Peer, PeerDirectory
from sailmesh.telemetry.policy import MetricsPolicy
from sailmesh.telemetry.standard import UNKNOWN, StandardMetric

#: Clusters Istio names destinations after (``destination_service_name``).
SPECIAL_CLUSTERS = frozenset(
    {"BlackHoleCluster", "PassthroughCluster", "InboundPassthroughCluster"}
)
_UNKNOWN_PEER = Peer(workload=UNKNOWN, namespace="")


def _namespace_of_principal(principal: str) -> str:
    """``spiffe://td/ns/<namespace>/sa/<sa>`` -> ``<namespace>``; empty otherwise."""
    _, found, rest = principal.partition("/ns/")
    return rest.split("/", 1)[0] if found else ""


def _service_host(tags: Mapping[str, str], peer_address: str) -> tuple[str, str]:
    """(host, special cluster name or "") of the destination service; label order is the
    metric's (see :func:`_ordered`)."""
    if tags.get(raw.SERVICE):
        return tags[raw.SERVICE], ""
    cluster = tags.get(raw.CLUSTER, "")
    if cluster in SPECIAL_CLUSTERS:
        return peer_address or UNKNOWN, cluster
    parts = cluster.split("|")
    if len(parts) == 4 and parts[3]:
        return parts[3], ""
    return "", ""


def _side(prefix: str, peer: Peer | None, namespace: str, principal: str) -> dict[str, str]:
    known = peer or _UNKNOWN_PEER
    return {
        f"{prefix}_workload": known.workload if peer else UNKNOWN,
        f"{prefix}_canonical_service": known.canonical_service if peer else UNKNOWN,
        f"{prefix}_canonical_revision": known.canonical_revision if peer else standard.LATEST,
        f"{prefix}_workload_namespace": namespace or UNKNOWN,
        f"{prefix}_principal": principal or UNKNOWN,
        f"{prefix}_app": known.app if peer else UNKNOWN,
        f"{prefix}_version": known.version if peer else UNKNOWN,
        f"{prefix}_cluster": known.cluster if peer else UNKNOWN,
    }


def istio_labels(
    metric: StandardMetric, tags: Mapping[str, str], me: Peer | None, directory: PeerDirectory
) -> dict[str, str]:
    """Istio's labels for one raw series reported by proxy ``me``.

    The peer is the workload at the raw ``peer`` address (unknown when nobody is, or when there
    was no upstream, e.g. a fault abort); its namespace comes from its certificate first.
    ``destination_service`` is the service the listener serves or the one in the upstream
    cluster's name (``outbound|9080|v1|reviews...``); for Istio's special clusters it is the
    peer address and ``destination_service_name`` the cluster's name. Principals come from
    certificates only (``unknown`` without mutual TLS). ``connection_security_policy`` is
    ``unknown`` on the source side and ``mutual_tls`` on the destination side when both ends
    presented certificates, else ``none``.
    """
    reporter = tags.get(raw.REPORTER, "")
    address = tags.get(raw.PEER, "")
    peer = directory.peer(address)
    peer_principal = tags.get(raw.PEER_PRINCIPAL, "")
    local_principal = tags.get(raw.LOCAL_PRINCIPAL, "")
    peer_ns = _namespace_of_principal(peer_principal) or (peer.namespace if peer else "")
    my_ns = me.namespace if me else ""
    host, special = _service_host(tags, address)
    service = directory.service(host)
    if reporter == "destination":
        source = _side("source", peer, peer_ns, peer_principal)
        dest = _side("destination", me, my_ns, local_principal)
        service_namespace = my_ns or (service.namespace if service else "")
        policy = "mutual_tls" if peer_principal and local_principal else "none"
    else:
        source = _side("source", me, my_ns, local_principal)
        dest = _side("destination", peer, peer_ns, peer_principal)
        service_namespace = peer_ns or (service.namespace if service else "")
        policy = UNKNOWN
    service_name = special or (service.name if service else host.split(".", 1)[0])
    labels = {
        "reporter": reporter or UNKNOWN,
        **source,
        **dest,
        "destination_service": host or UNKNOWN,
        "destination_service_name": service_name or UNKNOWN,
        "destination_service_namespace": service_namespace or UNKNOWN,
        "response_flags": tags.get(raw.RESPONSE_FLAGS) or "-",
        "connection_security_policy": policy,
    }
    if metric.protocol == "tcp":
        labels["request_protocol"] = "tcp"
    else:
        grpc = tags.get(raw.GRPC_STATUS, "")
        labels["request_protocol"] = "grpc" if grpc else "http"
        labels["response_code"] = tags.get(raw.RESPONSE_CODE) or "0"
        labels["grpc_response_status"] = grpc
    return labels


@dataclass
class _Series:
    """One Istio series being summed: a counter value, or histogram buckets/sum/count."""

    value: float = 0.0
    buckets: dict[str, float] = field(default_factory=dict)
    total: float = 0.0
    count: float = 0.0


def _ordered(metric: StandardMetric, labels: dict[str, str], added: Iterable[str]) -> Labels:
    keys = [k for k in metric.labels if k in labels]
    keys += sorted(k for k in added if k in labels and k not in metric.labels)
    return tuple((k, labels[k]) for k in keys)


def istio_families(
    families: Iterable[Family],
    me: Peer | None,
    directory: PeerDirectory,
    policy: MetricsPolicy | None = None,
) -> list[Family]:
    """The standard metrics of one proxy (only those it has series for), in
    :data:`~sailmesh.telemetry.standard.ALL` order."""
    policy = policy or MetricsPolicy()
    summed: dict[str, dict[Labels, _Series]] = {}
    for family in families:
        name = raw.raw_metric_name(family.name)
        if name is None:
            continue
        metric = standard.BY_NAME[name]
        for sample in family.samples:
            _add(summed.setdefault(name, {}), metric, sample, me, directory, policy)
    return [_family(m, summed[m.name]) for m in standard.ALL if summed.get(m.name)]


def _add(
    into: dict[Labels, _Series],
    metric: StandardMetric,
    sample: Sample,
    me: Peer | None,
    directory: PeerDirectory,
    policy: MetricsPolicy,
) -> None:
    tags = dict(sample.labels)
    rule = policy.rule(metric, tags.get(raw.REPORTER, ""))
    if rule.disabled:
        return
    labels = istio_labels(metric, tags, me, directory)
    for label, value in rule.upserts:
        labels[label] = tags.get(raw.OVERRIDE_PREFIX + label) or value.default or UNKNOWN
    for label in rule.removes:
        labels.pop(label, None)
    key = _ordered(metric, labels, (label for label, _ in rule.upserts))
    series = into.setdefault(key, _Series())
    if metric.kind == "counter":
        per_stream = raw.message_count(metric.name, tags)
        series.value += sample.value * (1 if per_stream is None else per_stream)
    elif sample.name.endswith("_bucket"):
        le = tags.get("le", "+Inf")
        series.buckets[le] = series.buckets.get(le, 0.0) + sample.value
    elif sample.name.endswith("_sum"):
        series.total += sample.value
    elif sample.name.endswith("_count"):
        series.count += sample.value


def _family(metric: StandardMetric, series: dict[Labels, _Series]) -> Family:
    name = metric.full_name
    out = Family(name, metric.kind, metric.help)
    for labels, s in series.items():
        if metric.kind == "counter":
            out.samples.append(Sample(name, labels, s.value))
            continue
        for le in sorted(s.buckets, key=_bound):
            out.samples.append(Sample(f"{name}_bucket", (*labels, ("le", le)), s.buckets[le]))
        out.samples.append(Sample(f"{name}_sum", labels, s.total))
        out.samples.append(Sample(f"{name}_count", labels, s.count))
    return out


def _bound(le: str) -> float:
    try:
        return float(le)
    except ValueError:
        return float("inf")
