"""TCP and TLS routes of VirtualServices: which clusters (with weights) a connection goes to."""

from __future__ import annotations

import xds_fixtures as fx

from sailmesh.registry.model import Service, ServicePort
from sailmesh.xds.scope import build_scope
from sailmesh.xds.tcp_routes import tcp_destinations

MYSQL = fx.tcp_service("mysql", 3306, "10.96.0.30")
SECURE = Service("secure.example.com", "default", (ServicePort("tls", 443, "TLS"),))
DB = "mysql.default.svc.cluster.local"


def destinations(service: Service, spec: str | None) -> list[tuple[str, int]]:
    resources = []
    if spec is not None:
        hosts = "[mysql]" if service is MYSQL else "['*.example.com']"
        resources.append(fx.resource("VirtualService", f"hosts: {hosts}\n{spec}", name="v"))
    snap = fx.snapshot(resources, extra_services=[MYSQL, SECURE])
    scope = build_scope(fx.productpage_proxy(), snap)
    return tcp_destinations(scope, service, service.ports[0])


def test_without_a_virtual_service_the_services_cluster() -> None:
    assert destinations(MYSQL, None) == [(f"outbound|3306||{DB}", 100)]


def test_weighted_tcp_route() -> None:
    spec = (
        "tcp:\n- route:\n"
        "  - {destination: {host: mysql, subset: a}, weight: 70}\n"
        "  - {destination: {host: mysql, subset: b}, weight: 30}\n"
        "  - {destination: {host: mysql, subset: c}, weight: 0}\n"
    )
    assert destinations(MYSQL, spec) == [
        (f"outbound|3306|a|{DB}", 70),
        (f"outbound|3306|b|{DB}", 30),
    ]


def test_first_applying_route_wins_and_non_applying_ones_are_skipped() -> None:
    spec = (
        "tcp:\n"
        "- match: [{port: 9999}]\n  route: [{destination: {host: mysql, subset: a}}]\n"
        "- match: [{sourceLabels: {app: productpage}}]\n"
        "  route: [{destination: {host: mysql, subset: b}}]\n"
        "- route: [{destination: {host: mysql, subset: c}}]\n"
    )
    assert destinations(MYSQL, spec) == [(f"outbound|3306|b|{DB}", 100)]


def test_tls_routes_match_on_sni() -> None:
    spec = (
        "tls:\n"
        "- match: [{sniHosts: [other.example.com]}]\n"
        "  route: [{destination: {host: other.example.com}}]\n"
        "- match: [{sniHosts: ['*.example.com']}]\n"
        "  route: [{destination: {host: secure.example.com, port: {number: 8443}}}]\n"
    )
    assert destinations(SECURE, spec) == [("outbound|8443||secure.example.com", 100)]


def test_no_applying_route_falls_back_to_the_service() -> None:
    spec = "tcp:\n- match: [{port: 1}]\n  route: [{destination: {host: mysql, subset: a}}]\n"
    assert destinations(MYSQL, spec) == [(f"outbound|3306||{DB}", 100)]
