"""Which RequestAuthentication objects apply to a proxy.

In: a :class:`~sailmesh.snapshot.proxy.Proxy` and the snapshot. Out: the policies, in the
snapshot's age order. Attachment (namespace, root namespace, ``selector``, ``targetRef(s)``)
follows the rules shared with authorization and EnvoyFilter in :mod:`sailmesh.snapshot.attachment`.
"""

from __future__ import annotations

from sailmesh.config.resource import Resource
from sailmesh.snapshot.attachment import attaches, target_refs
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot, selector_labels

KIND = "RequestAuthentication"


def policies_for(proxy: Proxy, snapshot: MeshSnapshot) -> list[Resource]:
    """The RequestAuthentication objects that apply to ``proxy``."""
    root = snapshot.mesh.root_namespace
    return [r for r in snapshot.of_kind(KIND) if applies(r, proxy, root)]


def applies(policy: Resource, proxy: Proxy, root_namespace: str) -> bool:
    """Whether ``policy`` attaches to ``proxy``."""
    return attaches(
        policy_namespace=policy.namespace,
        selector=selector_labels(policy),
        refs=target_refs(policy.spec),
        namespace=proxy.namespace,
        labels=proxy.labels,
        root_namespace=root_namespace,
    )
