"""TCP and TLS routes of VirtualServices: which clusters (with weights) a connection goes to."""

from __future__ import annotations

import xds_fixtures as fx

from sailmesh.registry.model import Service, ServicePort
from sailmesh.xds.scope import build_scope
from sailmesh.xds.tcp_routes import RouteChain, tcp_destinations, tcp_route_chains

MYSQL = fx.tcp_service("mysql", 3306, "10.96.0.30")
SECURE = Service("secure.example.com", "default", (ServicePort("tls", 443, "TLS"),))
DB = "mysql.default.svc.cluster.local"


def chains(service: Service, spec: str | None) -> list[RouteChain]:
    resources = []
    if spec is not None:
        hosts = "[mysql]" if service is MYSQL else "['*.example.com']"
        resources.append(fx.resource("VirtualService", f"hosts: {hosts}\n{spec}", name="v"))
    snap = fx.snapshot(resources, extra_services=[MYSQL, SECURE])
    scope = build_scope(fx.productpage_proxy(), snap)
    found = tcp_route_chains(scope, service, service.ports[0])
    assert list(found[-1].weighted) == tcp_destinations(scope, service, service.ports[0])
    return found


def destinations(service: Service, spec: str | None) -> list[tuple[str, int]]:
    return list(chains(service, spec)[-1].weighted)


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


def _to(subset: str) -> tuple[tuple[str, int], ...]:
    return ((f"outbound|3306|{subset}|{DB}", 100),)


def test_subnet_routes_get_their_own_chains_before_the_catch_all() -> None:
    spec = (
        "tcp:\n"
        "- match: [{destinationSubnets: [10.96.0.0/24, 10.96.1.7]}, {port: 9999}]\n"
        "  route: [{destination: {host: mysql, subset: a}}]\n"
        "- match: [{sourceSubnet: 10.244.0.0/16}]\n  route: [{destination: {host: mysql, subset: b}}]\n"
        "- match: [{destinationSubnets: [10.96.0.0/24]}]\n"  # the first route has it: dropped
        "  route: [{destination: {host: mysql, subset: x}}]\n"
        "- match: [{destinationSubnets: [10.96.1.7, 10.96.2.0/24]}]\n"  # keeps 10.96.2.0/24
        "  route: [{destination: {host: mysql, subset: y}}]\n"
        "- route: [{destination: {host: mysql, subset: c}}]\n"
        "- route: [{destination: {host: mysql, subset: never}}]\n"
    )
    assert chains(MYSQL, spec) == [
        RouteChain(("10.96.0.0/24", "10.96.1.7/32"), (), _to("a")),
        RouteChain((), ("10.244.0.0/16",), _to("b")),
        RouteChain(("10.96.2.0/24",), (), _to("y")),
        RouteChain((), (), _to("c")),
    ]


def test_a_block_without_subnets_makes_the_route_a_catch_all() -> None:
    spec = (
        "tcp:\n"
        "- match: [{destinationSubnets: [10.96.0.0/24]}, {sourceLabels: {app: productpage}}]\n"
        "  route: [{destination: {host: mysql, subset: a}}]\n"
    )
    assert chains(MYSQL, spec) == [RouteChain((), (), _to("a"))]


def test_without_a_catch_all_route_the_service_cluster_is_last() -> None:
    spec = "tcp:\n- match: [{sourceSubnet: 10.0.0.1}]\n  route: [{destination: {host: mysql, subset: a}}]\n"
    assert chains(MYSQL, spec) == [
        RouteChain((), ("10.0.0.1/32",), _to("a")),
        RouteChain((), (), ((f"outbound|3306||{DB}", 100),)),
    ]
