"""Istio's own span tags for a proxy (Telemetry ``tracing[].enableIstioTags``, default on).

In: the proxy (labels, namespace, pod name) and the mesh's trust domain. Out: the
``custom_tags`` Envoy's HCM tracing adds to every span it makes, as literal values fixed at
translation time (as Istio does):

- ``istio.canonical_service``: the canonical service labels' rule
  (``service.istio.io/canonical-name``, ``app.kubernetes.io/name``, ``app``; else the pod);
- ``istio.canonical_revision``: ``service.istio.io/canonical-revision``,
  ``app.kubernetes.io/version``, ``version``; else ``latest``;
- ``istio.namespace``: the proxy's namespace;
- ``istio.mesh_id``: the mesh id, which is the trust domain (Istio's default when no mesh id
  is set; sailmesh has one mesh);
- ``istio.cluster_id``: the cluster, ``Kubernetes`` (the one cluster, as Istio's default).

A user's ``customTags`` entry of the same name wins over Istio's tag (:func:`merged_tags`).
"""

from __future__ import annotations

from collections.abc import Iterable

from envoy.type.tracing.v3 import custom_tag_pb2

from sailmesh.snapshot.proxy import Proxy
from sailmesh.telemetry.peers import CANONICAL_NAME_LABELS, CANONICAL_REVISION_LABELS
from sailmesh.telemetry.standard import DEFAULT_CLUSTER_ID, LATEST

CANONICAL_SERVICE = "istio.canonical_service"
CANONICAL_REVISION = "istio.canonical_revision"
NAMESPACE = "istio.namespace"
MESH_ID = "istio.mesh_id"
CLUSTER_ID = "istio.cluster_id"


def _first_label(proxy: Proxy, keys: Iterable[str]) -> str:
    return next((proxy.labels[k] for k in keys if proxy.labels.get(k)), "")


def canonical_service(proxy: Proxy) -> str:
    """The proxy's canonical service (its pod name when no label names one)."""
    return _first_label(proxy, CANONICAL_NAME_LABELS) or proxy.pod_name


def canonical_revision(proxy: Proxy) -> str:
    return _first_label(proxy, CANONICAL_REVISION_LABELS) or LATEST


def istio_tags(proxy: Proxy, mesh_id: str) -> list[custom_tag_pb2.CustomTag]:
    """Istio's span tags of ``proxy``, sorted by name."""
    values = {
        CANONICAL_REVISION: canonical_revision(proxy),
        CANONICAL_SERVICE: canonical_service(proxy),
        CLUSTER_ID: DEFAULT_CLUSTER_ID,
        MESH_ID: mesh_id,
        NAMESPACE: proxy.namespace,
    }
    out = []
    for name in sorted(values):
        tag = custom_tag_pb2.CustomTag(tag=name)
        tag.literal.value = values[name]
        out.append(tag)
    return out


def merged_tags(
    istio: Iterable[custom_tag_pb2.CustomTag], custom: Iterable[custom_tag_pb2.CustomTag]
) -> list[custom_tag_pb2.CustomTag]:
    """Istio's tags, then the user's; a user's tag replaces Istio's tag of the same name."""
    users = list(custom)
    names = {t.tag for t in users}
    return [t for t in istio if t.tag not in names] + users
