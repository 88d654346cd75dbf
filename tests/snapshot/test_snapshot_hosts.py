"""Host names as Istio treats them: short-name expansion, wildcard matching, exportTo."""

from __future__ import annotations

import pytest

from sailmesh.snapshot.hosts import DOMAIN_SUFFIX, fqdn, host_matches, hosts_intersect, visible


@pytest.mark.parametrize(
    ("host", "namespace", "expected"),
    [
        ("reviews", "default", "reviews.default.svc.cluster.local"),
        ("reviews", "shop", "reviews.shop.svc.cluster.local"),
        ("reviews.default", "shop", "reviews.default"),  # a dot: kept as written
        ("reviews.default.svc.cluster.local", "shop", "reviews.default.svc.cluster.local"),
        ("api.example.com", "default", "api.example.com"),
        ("*", "default", "*"),
        ("*.example.com", "default", "*.example.com"),
    ],
)
def test_fqdn_expands_short_names_only(host: str, namespace: str, expected: str) -> None:
    assert fqdn(host, namespace) == expected


def test_domain_suffix_is_the_kubernetes_default() -> None:
    assert DOMAIN_SUFFIX == "svc.cluster.local"


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        ("*", "anything.at.all", True),
        ("a.example.com", "a.example.com", True),
        ("a.example.com", "b.example.com", False),
        ("*.example.com", "a.example.com", True),
        ("*.example.com", "a.b.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "a.example.org", False),
        ("a.example.com", "*.example.com", False),  # a concrete pattern never matches a wildcard
    ],
)
def test_host_matches(pattern: str, host: str, expected: bool) -> None:
    assert host_matches(pattern, host) is expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("*.example.com", "a.example.com", True),
        ("a.example.com", "*.example.com", True),
        ("a.example.com", "b.example.com", False),
        ("*.example.com", "*.example.org", False),
        ("*", "*.example.org", True),
    ],
)
def test_hosts_intersect_is_symmetric(a: str, b: str, expected: bool) -> None:
    assert hosts_intersect(a, b) is expected
    assert hosts_intersect(b, a) is expected


@pytest.mark.parametrize(
    ("export_to", "owner", "viewer", "expected"),
    [
        (None, "a", "b", True),  # default: everywhere
        ([], "a", "b", True),
        (["*"], "a", "b", True),
        (["."], "a", "a", True),
        (["."], "a", "b", False),
        (["b"], "a", "b", True),
        (["c"], "a", "b", False),
        (["c"], "a", "a", False),  # not even the owner's namespace unless named
        ([".", "c"], "a", "c", True),
        (["~"], "a", "a", False),
        (["~", "*"], "a", "b", False),  # "~" hides it whatever else is listed
    ],
)
def test_visible_follows_export_to(
    export_to: list[str] | None, owner: str, viewer: str, expected: bool
) -> None:
    assert visible(export_to, owner, viewer) is expected
