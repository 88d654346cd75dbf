"""VirtualService delegation (Istio's ``delegate``): a root VirtualService's HTTP route hands a
set of requests to a delegate VirtualService (no ``hosts``, possibly in another namespace).

In: a root VirtualService and the snapshot. Out: its HTTP routes with every delegating route
replaced by the delegate's routes, each paired with the VirtualService its destinations'
short host names resolve in (the delegate's namespace for delegated routes), following
Istio's ``mergeVirtualServicesIfNeeded``:

- the delegate is ``delegate.name`` in ``delegate.namespace`` (default: the root's), visible to
  the root's namespace (its ``exportTo``), with no ``hosts``; otherwise the route is dropped;
- a delegate route's match blocks must each fall inside one of the root route's blocks (same or
  narrower uri/scheme/method/authority: an exact inside an equal exact or a prefix, a prefix
  inside a prefix; headers and query parameters likewise; no regex; same ``ignoreUriCase``,
  ``port``, ``sourceNamespace``; no contradicting ``sourceLabels``; ``gateways`` a subset).
  Each fitting pair becomes one block with the root's conditions filled in; a delegate route
  with a block that fits nowhere is dropped (a conflict). Without blocks, the root's apply;
- the merged route keeps the delegate's fields and takes the root's ``rewrite``, ``timeout``,
  ``retries``, ``fault``, ``mirror``(s), ``corsPolicy``, ``headers`` and ``directResponse`` where
  the delegate has none; names join as ``<root>-<delegate>``;
- delegates do not delegate further (their delegating routes are dropped).
"""

from __future__ import annotations

from typing import Any

from sailmesh.config.resource import Resource
from sailmesh.snapshot.snapshot import MeshSnapshot

Routed = tuple[Any, Resource]  # (HTTP route, the VirtualService its short hosts resolve in)

_INHERITED = (
    "rewrite",
    "direct_response",
    "timeout",
    "retries",
    "fault",
    "mirror",
    "mirror_percent",
    "mirror_percentage",
    "cors_policy",
    "headers",
)


def delegate_of(snapshot: MeshSnapshot, root: Resource, http: Any) -> Resource | None:
    """The delegate VirtualService a root route names, if it exists and may be used."""
    ref = http.delegate
    namespace = ref.namespace or root.namespace
    for vs in snapshot.of_kind("VirtualService"):
        if vs.name == ref.name and vs.namespace == namespace:
            usable = not vs.spec.hosts and snapshot.config_visible(vs, root.namespace)
            return vs if usable else None
    return None


def http_routes(snapshot: MeshSnapshot, vs: Resource) -> list[Routed]:
    """``vs``'s HTTP routes with delegation applied, in order."""
    out: list[Routed] = []
    for http in vs.spec.http or []:
        if http.delegate is None:
            out.append((http, vs))
            continue
        delegate = delegate_of(snapshot, vs, http)
        if delegate is None:
            continue
        for leaf in delegate.spec.http or []:
            if leaf.delegate is not None:
                continue
            merged = merge_route(http, leaf)
            if merged is not None:
                out.append((merged, delegate))
    return out


def merge_route(root: Any, leaf: Any) -> Any | None:
    """The delegate route ``leaf`` under ``root``'s conditions; None on a match conflict."""
    matches = merge_matches(list(root.match or []), list(leaf.match or []))
    if matches is None:
        return None
    update: dict[str, Any] = {"match": matches}
    if root.name:
        update["name"] = f"{root.name}-{leaf.name}" if leaf.name else root.name
    for attr in _INHERITED:
        if getattr(leaf, attr) is None:
            update[attr] = getattr(root, attr)
    if not leaf.mirrors:
        update["mirrors"] = root.mirrors
    return leaf.model_copy(update=update)


def merge_matches(root: list[Any], leaf: list[Any]) -> list[Any] | None:
    """Each leaf block combined with every root block it fits in; None on a conflict."""
    if not root:
        return leaf
    if not leaf:
        return root
    out: list[Any] = []
    for block in leaf:
        fitting = [r for r in root if not conflicts(r, block)]
        if not fitting:
            return None
        out += [merge_match(r, block) for r in fitting]
    return out


def merge_match(root: Any, leaf: Any) -> Any:
    update: dict[str, Any] = {}
    if root.name:
        update["name"] = f"{root.name}-{leaf.name}" if leaf.name else root.name
    for attr in ("uri", "scheme", "method", "authority", "port", "source_namespace"):
        if getattr(leaf, attr) is None:
            update[attr] = getattr(root, attr)
    for attr in ("headers", "without_headers", "query_params", "source_labels"):
        update[attr] = {**getattr(root, attr), **getattr(leaf, attr)}
    if not leaf.gateways:
        update["gateways"] = root.gateways
    if leaf.stat_prefix is None:
        update["stat_prefix"] = root.stat_prefix
    return leaf.model_copy(update=update)


def conflicts(root: Any, leaf: Any) -> bool:
    """Whether ``leaf`` asks for something outside ``root`` (Istio's ``hasConflict``)."""
    for attr in ("uri", "scheme", "method", "authority"):
        if _string_conflict(getattr(root, attr), getattr(leaf, attr)):
            return True
    for attr in ("headers", "without_headers", "query_params"):
        mine = getattr(root, attr)
        if any(_string_conflict(mine.get(k), v) for k, v in getattr(leaf, attr).items()):
            return True
    if bool(root.ignore_uri_case) != bool(leaf.ignore_uri_case):
        return True
    if root.port and leaf.port and root.port != leaf.port:
        return True
    if root.source_namespace and leaf.source_namespace != root.source_namespace:
        return True
    if any(
        k in root.source_labels and root.source_labels[k] != v
        for k, v in leaf.source_labels.items()
    ):
        return True
    return bool(root.gateways and leaf.gateways and not set(leaf.gateways) <= set(root.gateways))


def _string_conflict(root: Any, leaf: Any) -> bool:
    if root is None or leaf is None:
        return False
    if root.regex is not None or leaf.regex is not None:
        return True
    if root.exact is not None:
        return leaf.prefix is not None or leaf.exact != root.exact
    if root.prefix:
        if leaf.prefix is not None:
            return not leaf.prefix.startswith(root.prefix)
        if leaf.exact is not None:
            return not leaf.exact.startswith(root.prefix)
    return True
