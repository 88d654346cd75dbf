"""Host names as Istio treats them: short-name expansion, wildcard matching, exportTo visibility."""

from __future__ import annotations

from collections.abc import Iterable

DOMAIN_SUFFIX = "svc.cluster.local"


def fqdn(host: str, namespace: str) -> str:
    """Istio's short-name resolution: ``reviews`` in ``default`` -> ``reviews.default.svc.cluster.local``.

    Names with a dot and wildcards other than ``*`` stay as written (Istio does the same).
    """
    if host == "*" or "." in host:
        return host
    return f"{host}.{namespace}.{DOMAIN_SUFFIX}"


def host_matches(pattern: str, host: str) -> bool:
    """``*.example.com`` matches ``a.example.com``; ``*`` matches everything."""
    if pattern == "*" or pattern == host:
        return True
    if pattern.startswith("*"):
        return host.endswith(pattern[1:])
    return False


def hosts_intersect(a: str, b: str) -> bool:
    return host_matches(a, b) or host_matches(b, a)


def visible(export_to: Iterable[str] | None, owner_namespace: str, viewer_namespace: str) -> bool:
    """exportTo semantics: ``*`` (default) everywhere, ``.`` own namespace, or named namespaces."""
    targets = list(export_to or ["*"])
    if "~" in targets:
        return False
    for t in targets:
        if t == "*" or (t == "." and viewer_namespace == owner_namespace) or t == viewer_namespace:
            return True
    return False
