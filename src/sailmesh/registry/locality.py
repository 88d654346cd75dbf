"""Localities (``region/zone/subzone``) of workloads and proxies, from Kubernetes labels.

In: a workload's or pod's labels (and an explicit locality, as a WorkloadEntry's
``spec.locality``). Out: the locality string ``region/zone/subzone`` (trailing empty parts
dropped, ``""`` for none), and labels augmented with the topology labels of a locality, as
Istio adds them to proxies and endpoints (``failoverPriority`` compares those labels).

Sources, as Istio reads them: the ``istio-locality`` label (``region.zone.subzone``, an explicit
override), else ``topology.kubernetes.io/region``, ``topology.kubernetes.io/zone`` and
``topology.istio.io/subzone``. Pods of the local runtime have no node, so their own labels play
the node's part.
"""

from __future__ import annotations

from collections.abc import Mapping

REGION_LABEL = "topology.kubernetes.io/region"
ZONE_LABEL = "topology.kubernetes.io/zone"
SUBZONE_LABEL = "topology.istio.io/subzone"
LOCALITY_OVERRIDE_LABEL = "istio-locality"
_PART_LABELS = (REGION_LABEL, ZONE_LABEL, SUBZONE_LABEL)


def join_locality(region: str, zone: str = "", subzone: str = "") -> str:
    """``region/zone/subzone`` without trailing empty parts."""
    return "/".join([region, zone, subzone]).rstrip("/")


def split_locality(locality: str) -> tuple[str, str, str]:
    """(region, zone, subzone) of ``region/zone/subzone`` (missing parts are ``""``)."""
    parts = [*locality.split("/"), "", "", ""]
    return parts[0], parts[1], parts[2]


def locality_from_labels(labels: Mapping[str, str], explicit: str = "") -> str:
    """The locality of a workload with ``labels`` (``explicit`` wins when set)."""
    if explicit:
        return join_locality(*split_locality(explicit))
    override = labels.get(LOCALITY_OVERRIDE_LABEL, "")
    if override:
        return join_locality(*split_locality(override.replace(".", "/")))
    return join_locality(*(labels.get(name, "") for name in _PART_LABELS))


def with_topology_labels(labels: Mapping[str, str], locality: str) -> dict[str, str]:
    """``labels`` plus the region/zone/subzone labels of ``locality`` (Istio's augmentation)."""
    out = dict(labels)
    for name, part in zip(_PART_LABELS, split_locality(locality), strict=True):
        if part:
            out[name] = part
    return out
