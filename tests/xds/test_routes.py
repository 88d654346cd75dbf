"""Outbound route tables: the domains each service answers to."""

from __future__ import annotations

import pytest
import xds_fixtures as fx

from sailmesh.registry.model import Service
from sailmesh.xds.routes import alt_hosts, service_domains

SVC = fx.service("reviews", 9080, vip="10.96.0.13", selector=False)


@pytest.mark.parametrize(
    ("namespace", "explicit", "expected"),
    [
        (
            "default",
            False,
            [
                "reviews.default.svc.cluster.local",
                "reviews",
                "reviews.default.svc",
                "reviews.default",
                "10.96.0.13",
            ],
        ),
        (
            "other",
            True,
            [
                "reviews.default.svc.cluster.local:9080",
                "reviews.default.svc:9080",
                "reviews.default:9080",
                "10.96.0.13:9080",
            ],
        ),
    ],
)
def test_domains(namespace: str, explicit: bool, expected: list[str]) -> None:
    assert service_domains(SVC, 9080, namespace, explicit) == expected


def test_external_host_domains() -> None:
    ext = Service(hostname="api.example.com", namespace="default", ports=())
    assert service_domains(ext, 443, "default", False) == ["api.example.com"]
    assert service_domains(ext, 443, "default", True) == ["api.example.com:443"]


@pytest.mark.parametrize(
    ("hostname", "namespace", "expected"),
    [
        (
            "reviews.default.svc.cluster.local",
            "default",
            ["reviews", "reviews.default.svc", "reviews.default"],
        ),
        ("reviews.default.svc.cluster.local", "shop", ["reviews.default.svc", "reviews.default"]),
        ("api.example.com", "default", []),
    ],
)
def test_alt_hosts(hostname: str, namespace: str, expected: list[str]) -> None:
    assert alt_hosts(hostname, namespace) == expected


def test_explicit_port_80_also_answers_without_the_port() -> None:
    web = fx.service("web", 80, vip="10.96.0.40", selector=False)
    assert service_domains(web, 80, "shop", True) == [
        "web.default.svc.cluster.local",
        "web.default.svc.cluster.local:80",
        "web.default.svc",
        "web.default.svc:80",
        "web.default",
        "web.default:80",
        "10.96.0.40",
        "10.96.0.40:80",
    ]


def test_a_deeper_cluster_local_name_has_no_short_forms() -> None:
    assert alt_hosts("a.b.c.svc.cluster.local", "b") == []
