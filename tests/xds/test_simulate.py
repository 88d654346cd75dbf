"""The simulator's own rules: Envoy's virtual host choice and route matching, and its values.

(``test_simulation.py`` runs whole calls through translated configs.)"""

from __future__ import annotations

from typing import Any

import pytest
import xds_fixtures as fx
from envoy.config.route.v3 import route_pb2

from sailmesh.xds.matches import route_match
from sailmesh.xds.simulate import Call, Result, route_matches, select_virtual_host


def route_config(ignore_port: bool = False, **domains: list[str]) -> route_pb2.RouteConfiguration:
    config = route_pb2.RouteConfiguration(ignore_port_in_host_matching=ignore_port)
    for name, names in domains.items():
        config.virtual_hosts.add(name=name, domains=names)
    return config


HOSTS = route_config(
    exact=["api.example.com", "api.example.com:8080"],
    suffix=["*.example.com"],
    prefix=["api.*"],
    any=["*"],
)


@pytest.mark.parametrize(
    ("authority", "chosen"),
    [
        ("api.example.com", "exact"),
        ("API.Example.com", "exact"),  # case-insensitive
        ("api.example.com:8080", "exact"),
        ("web.example.com", "suffix"),  # a suffix wildcard beats a prefix one
        ("api.example.org", "prefix"),
        ("other.org", "any"),
        ("api.example.com:9090", "prefix"),  # the port is part of the host here
    ],
)
def test_virtual_host_choice(authority: str, chosen: str) -> None:
    assert select_virtual_host(HOSTS, authority).name == chosen


def test_virtual_host_choice_ignoring_ports_and_nothing_found() -> None:
    config = route_config(True, exact=["api.example.com"], v6=["[::1]"])
    assert select_virtual_host(config, "api.example.com:9090").name == "exact"
    assert select_virtual_host(config, "[::1]:80").name == "v6"
    assert select_virtual_host(config, "other.org") is None


def match(block: str) -> Any:
    (route,) = fx.http_routes(f"- match: [{block}]\n  route: [{{destination: {{host: r}}}}]\n")
    return route_match(route.match[0])


@pytest.mark.parametrize(
    ("block", "path", "headers", "matches"),
    [
        ("{uri: {prefix: /api}}", "/api/x", {}, True),
        ("{uri: {prefix: /api}}", "/API/x", {}, False),
        ("{uri: {prefix: /api}, ignoreUriCase: true}", "/API/x", {}, True),
        ("{uri: {exact: /a}}", "/a?q=1", {}, True),  # the query is not part of the path
        ("{uri: {exact: /a}}", "/ab", {}, False),
        ("{uri: {regex: '/v[0-9]+'}}", "/v12", {}, True),
        ("{uri: {regex: '/v[0-9]+'}}", "/v12/x", {}, False),  # the whole path
        ("{headers: {x-user: {exact: jason}}}", "/", {"x-user": "jason"}, True),
        ("{headers: {x-user: {exact: jason}}}", "/", {"x-user": "alice"}, False),
        ("{headers: {x-user: {exact: jason}}}", "/", {}, False),
        ("{headers: {x-user: {}}}", "/", {"x-user": ""}, True),  # presence
        ("{withoutHeaders: {x-skip: {}}}", "/", {}, True),
        ("{withoutHeaders: {x-skip: {}}}", "/", {"x-skip": "1"}, False),
        ("{method: {exact: POST}}", "/", {":method": "POST"}, True),
        ("{queryParams: {debug: {exact: '1'}}}", "/a?debug=1", {}, True),
        ("{queryParams: {debug: {exact: '1'}}}", "/a?debug=2", {}, False),
        ("{queryParams: {debug: {}}}", "/a?debug=", {}, True),
        ("{queryParams: {debug: {}}}", "/a", {}, False),
    ],
)
def test_route_matches(block: str, path: str, headers: dict[str, str], matches: bool) -> None:
    assert route_matches(match(block), path, headers) is matches


def test_call_authority_and_result_clusters() -> None:
    assert Call("reviews", 80).authority == "reviews"
    assert Call("reviews", 9080).authority == "reviews:9080"
    assert Result(cluster="c").clusters == ["c"]
    assert Result(weighted=[("a", 80), ("b", 20)]).clusters == ["a", "b"]
    assert Result().clusters == []
