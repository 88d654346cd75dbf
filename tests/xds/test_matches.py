"""VirtualService HTTP matches -> Envoy RouteMatch, and which match blocks apply to a proxy."""

from __future__ import annotations

from typing import Any

import pytest
import xds_fixtures as fx

from sailmesh.xds.matches import (
    applicable_matches,
    header_matcher,
    match_applies,
    route_match,
    string_matcher,
)


def match(block: str, namespace: str = "default") -> Any:
    """The first match block of a route with ``match: [<block>]``."""
    (route,) = fx.http_routes(
        f"- match: [{block}]\n  route: [{{destination: {{host: r}}}}]\n", namespace
    )
    return route.match[0]


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ("{uri: {exact: /a}}", {"path": "/a"}),
        ("{uri: {prefix: /api}}", {"prefix": "/api"}),
        ("{uri: {regex: '/v[0-9]+/.*'}}", {"safeRegex": {"regex": "/v[0-9]+/.*"}}),
        ("{name: no-uri}", {"prefix": "/"}),
        ("{uri: {prefix: /A}, ignoreUriCase: true}", {"prefix": "/A", "caseSensitive": False}),
    ],
)
def test_uri(block: str, expected: dict[str, Any]) -> None:
    assert fx.as_dict(route_match(match(block))) == expected


def test_no_match_block_matches_everything() -> None:
    assert fx.as_dict(route_match(None)) == {"prefix": "/"}


def test_pseudo_headers_headers_and_query_parameters_in_order() -> None:
    found = route_match(
        match(
            "{method: {exact: POST}, scheme: {exact: https}, authority: {prefix: api.},"
            " headers: {x-user: {exact: jason}, a-first: {}},"
            " withoutHeaders: {x-debug: {regex: '.+'}},"
            " queryParams: {q: {exact: '1'}, present: {}}}"
        )
    )
    assert fx.as_dict(found) == {
        "prefix": "/",
        "headers": [
            {"name": ":scheme", "stringMatch": {"exact": "https"}},
            {"name": ":method", "stringMatch": {"exact": "POST"}},
            {"name": ":authority", "stringMatch": {"prefix": "api."}},
            {"name": "a-first", "presentMatch": True},  # an empty match: presence
            {"name": "x-user", "stringMatch": {"exact": "jason"}},
            {"name": "x-debug", "stringMatch": {"safeRegex": {"regex": ".+"}}, "invertMatch": True},
        ],
        "queryParameters": [
            {"name": "present", "presentMatch": True},
            {"name": "q", "stringMatch": {"exact": "1"}},
        ],
    }


def test_string_matcher() -> None:
    assert string_matcher(None) is None
    exact = match("{headers: {h: {exact: v}}}").headers["h"]
    assert fx.as_dict(string_matcher(exact, ignore_case=True)) == {"exact": "v", "ignoreCase": True}
    empty_prefix = match("{headers: {h: {prefix: ''}}}").headers["h"]
    assert string_matcher(empty_prefix) is None  # an empty prefix also means presence
    assert fx.as_dict(header_matcher("X-H", empty_prefix, invert=True)) == {
        "name": "x-h",  # Envoy's header names are lowercase
        "presentMatch": True,
        "invertMatch": True,
    }


PROXY = fx.productpage_proxy()  # default namespace, app=productpage


@pytest.mark.parametrize(
    ("block", "port", "applies"),
    [
        ("{port: 9080}", 9080, True),
        ("{port: 9080}", 9081, False),
        ("{port: 9080}", None, True),  # the explicit-proxy table: any port
        ("{sourceLabels: {app: productpage}}", 9080, True),
        ("{sourceLabels: {app: productpage, version: v2}}", 9080, False),
        ("{sourceNamespace: default}", 9080, True),
        ("{sourceNamespace: shop}", 9080, False),
        ("{gateways: [mesh]}", 9080, True),
        ("{gateways: [ingress]}", 9080, False),  # bound to a gateway only
        ("{gateways: [ingress, mesh]}", 9080, True),
        ("{gateways: [mesh], sourceLabels: {app: other}}", 9080, True),  # gateways decide alone
        ("{gateways: [mesh], port: 1}", 9080, False),
        ("{uri: {prefix: /}}", 9080, True),
    ],
)
def test_match_applies(block: str, port: int | None, applies: bool) -> None:
    assert match_applies(match(block), PROXY, port, "default") is applies


GATEWAY = frozenset({"default/ingress"})


@pytest.mark.parametrize(
    ("block", "applies"),
    [
        ("{gateways: [ingress]}", True),  # short name: the VirtualService's namespace
        ("{gateways: [default/ingress]}", True),
        ("{gateways: [ingress.default.svc.cluster.local]}", True),  # legacy FQDN form
        ("{gateways: [mesh]}", False),  # sidecars only
        ("{gateways: [other/ingress]}", False),
        ("{gateways: [mesh, ingress]}", True),
        ("{uri: {prefix: /}}", True),  # no gateways: inherits the VirtualService's
    ],
)
def test_match_applies_on_a_gateway(block: str, applies: bool) -> None:
    assert match_applies(match(block), PROXY, 80, "default", GATEWAY) is applies


def test_match_applies_to_nothing_in_particular() -> None:
    assert match_applies(None, PROXY, 9080, "default") is True


def test_applicable_matches_keeps_applying_blocks_or_drops_the_route() -> None:
    (route,) = fx.http_routes(
        "- match: [{port: 1}, {port: 9080, uri: {prefix: /a}}, {sourceNamespace: default}]\n"
        "  route: [{destination: {host: r}}]\n"
    )
    kept = applicable_matches(route.match, PROXY, 9080, "default")
    assert kept is not None
    assert [(m.port, m.source_namespace) for m in kept] == [(9080, None), (None, "default")]
    assert applicable_matches([route.match[0]], PROXY, 9080, "default") is None
    assert applicable_matches([], PROXY, 9080, "default") == [None]
