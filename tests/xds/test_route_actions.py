"""Route actions: retries, faults, mirroring, CORS, header edits, hash keys, redirects."""

from __future__ import annotations

from typing import Any

import pytest
import xds_fixtures as fx
from envoy.config.core.v3 import base_pb2

from config_support.manifests import manifests
from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.xds.route_actions import (
    cors_policy,
    direct_response,
    fault_config,
    fraction,
    hash_policies,
    header_values,
    mirror_policy,
    redirect_action,
    retry_policy,
)


def test_retry_policies() -> None:
    (vs,) = fx.config(
        manifests("""
VirtualService r
  hosts: [r]
  http:
  - retries: {attempts: 4, perTryTimeout: 1.5s, retryOn: "gateway-error,429,503"}
    route: [{destination: {host: r}}]
  - retries: {attempts: 0}
    route: [{destination: {host: r}}]
  - retries: {attempts: 1, retryIgnorePreviousHosts: false}
    route: [{destination: {host: r}}]
""")
    )
    mesh = MeshConfig()
    custom = retry_policy(vs.spec.http[0].retries, mesh)
    assert custom is not None
    assert custom.num_retries.value == 4
    assert custom.retry_on == "gateway-error,retriable-status-codes"
    assert list(custom.retriable_status_codes) == [429, 503]
    assert (custom.per_try_timeout.seconds, custom.per_try_timeout.nanos) == (1, 500_000_000)
    assert retry_policy(vs.spec.http[1].retries, mesh) is None
    no_predicate = retry_policy(vs.spec.http[2].retries, mesh)
    assert no_predicate is not None and not no_predicate.retry_host_predicate
    default = retry_policy(None, mesh)
    assert default is not None and list(default.retriable_status_codes) == [503]


def test_fraction_is_in_millionths() -> None:
    assert fraction(0.5).numerator == 5_000
    assert fraction(100).numerator == 1_000_000
    assert fraction(250).numerator == 1_000_000


def route(fields: str) -> Any:
    """One HTTP route of a VirtualService, from the YAML of its fields (a flow mapping body)."""
    (found,) = fx.http_routes(f"- {{{fields}}}\n")
    return found


ROUTE_TO_R = "route: [{destination: {host: r}}]"


def test_retry_policy_backoff_and_default_predicate() -> None:
    retries = route(f"retries: {{attempts: 3, retryOn: '5xx,5xx,connect-failure'}}, {ROUTE_TO_R}")
    policy = retry_policy(retries.retries, MeshConfig(default_retry_attempts=0))
    assert policy is not None
    assert policy.retry_on == "5xx,connect-failure"  # duplicates dropped
    assert list(policy.retriable_status_codes) == [503]
    assert [p.name for p in policy.retry_host_predicate] == [
        "envoy.retry_host_predicates.previous_hosts"
    ]
    assert retry_policy(None, MeshConfig(default_retry_attempts=0)) is None


@pytest.mark.parametrize(("percent", "numerator"), [(-5, 0), (0, 0), (0.0001, 1), (33.3, 333_000)])
def test_fraction_clamps_and_rounds(percent: float, numerator: int) -> None:
    assert fraction(percent).numerator == numerator


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (
            "{delay: {fixedDelay: 2s, percentage: {value: 50}}}",
            {
                "delay": {
                    "fixedDelay": "2s",
                    "percentage": {"numerator": 500000, "denominator": "MILLION"},
                }
            },
        ),
        (
            "{delay: {fixedDelay: 1s}}",  # no percentage: always
            {
                "delay": {
                    "fixedDelay": "1s",
                    "percentage": {"numerator": 1000000, "denominator": "MILLION"},
                }
            },
        ),
        (
            "{abort: {httpStatus: 503, percentage: {value: 10}}}",
            {
                "abort": {
                    "httpStatus": 503,
                    "percentage": {"numerator": 100000, "denominator": "MILLION"},
                }
            },
        ),
        (
            "{abort: {grpcStatus: UNAVAILABLE}}",
            {
                "abort": {
                    "grpcStatus": 14,
                    "percentage": {"numerator": 1000000, "denominator": "MILLION"},
                }
            },
        ),
    ],
)
def test_fault_config(fault: str, expected: dict[str, Any]) -> None:
    found = fault_config(route(f"fault: {fault}, {ROUTE_TO_R}").fault)
    assert found is not None and fx.as_dict(found) == expected


def test_no_fault() -> None:
    assert fault_config(None) is None


def test_mirror_policy() -> None:
    assert fx.as_dict(mirror_policy("outbound|80||m", 25.0)) == {
        "cluster": "outbound|80||m",
        "runtimeFraction": {"defaultValue": {"numerator": 250000, "denominator": "MILLION"}},
        "traceSampled": False,
    }
    assert mirror_policy("c", None).runtime_fraction.default_value.numerator == 1_000_000


def test_cors_policy() -> None:
    cors = route(
        "corsPolicy: {allowOrigins: [{exact: 'https://a.com'}, {prefix: 'https://b'}],"
        " allowMethods: [GET, POST], allowHeaders: [x-a, x-b], exposeHeaders: [x-c],"
        f" maxAge: 24h, allowCredentials: true}}, {ROUTE_TO_R}"
    ).cors_policy
    assert fx.as_dict(cors_policy(cors)) == {
        "allowOriginStringMatch": [{"exact": "https://a.com"}, {"prefix": "https://b"}],
        "allowMethods": "GET,POST",
        "allowHeaders": "x-a,x-b",
        "exposeHeaders": "x-c",
        "maxAge": "86400",
        "allowCredentials": True,
    }
    assert cors_policy(None) is None


OVERWRITE = base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD
APPEND = base_pb2.HeaderValueOption.APPEND_IF_EXISTS_OR_ADD


def test_header_values() -> None:
    headers = route(
        "headers: {request: {set: {b: '2', a: '1'}, add: {c: '3'}, remove: [x-drop]}},"
        f" {ROUTE_TO_R}"
    ).headers
    add, remove = header_values(headers.request)
    assert [(h.header.key, h.header.value, h.append_action) for h in add] == [
        ("a", "1", OVERWRITE),  # set: overwrite, by name
        ("b", "2", OVERWRITE),
        ("c", "3", APPEND),  # add: append
    ]
    assert remove == ["x-drop"]
    assert header_values(None) == ([], [])


@pytest.mark.parametrize(
    ("consistent_hash", "expected"),
    [
        ("{httpHeaderName: x-user}", [{"header": {"headerName": "x-user"}}]),
        (
            "{httpCookie: {name: s, path: /, ttl: 10s}}",
            [{"cookie": {"name": "s", "path": "/", "ttl": "10s"}}],
        ),
        ("{useSourceIp: true}", [{"connectionProperties": {"sourceIp": True}}]),
        ("{httpQueryParameterName: u}", [{"queryParameter": {"name": "u"}}]),
    ],
)
def test_hash_policies(consistent_hash: str, expected: list[dict[str, Any]]) -> None:
    rule = fx.resource(
        "DestinationRule",
        f"host: r\ntrafficPolicy: {{loadBalancer: {{consistentHash: {consistent_hash}}}}}",
    )
    found = hash_policies(rule.spec.traffic_policy.load_balancer.consistent_hash)
    assert [fx.as_dict(p) for p in found] == expected
    assert hash_policies(None) == []


@pytest.mark.parametrize(
    ("redirect", "expected"),
    [
        ("{uri: /new, authority: b.com}", {"pathRedirect": "/new", "hostRedirect": "b.com"}),
        ("{uri: /x, redirectCode: 302}", {"pathRedirect": "/x", "responseCode": "FOUND"}),
        (
            "{uri: /x, port: 8443, scheme: https, redirectCode: 308}",
            {
                "pathRedirect": "/x",
                "portRedirect": 8443,
                "schemeRedirect": "https",
                "responseCode": "PERMANENT_REDIRECT",
            },
        ),
    ],
)
def test_redirect_action(redirect: str, expected: dict[str, Any]) -> None:
    assert fx.as_dict(redirect_action(route(f"redirect: {redirect}").redirect)) == expected


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("{status: 404}", {"status": 404}),
        ("{status: 200, body: {string: hi}}", {"status": 200, "body": {"inlineString": "hi"}}),
        ("{status: 503, body: {bytes: aGk=}}", {"status": 503, "body": {"inlineBytes": "aGk="}}),
    ],
)
def test_direct_response(response: str, expected: dict[str, Any]) -> None:
    found = direct_response(route(f"directResponse: {response}").direct_response)
    assert fx.as_dict(found) == expected


@pytest.mark.parametrize(
    ("derive", "expected"),
    [("FROM_REQUEST_PORT", {"pathRedirect": "/x", "portRedirect": 9080}),
     ("FROM_PROTOCOL_DEFAULT", {"pathRedirect": "/x"})],
)  # fmt: skip
def test_redirect_derive_port_uses_the_route_port(derive: str, expected: dict[str, Any]) -> None:
    found = route(f"redirect: {{uri: /x, derivePort: {derive}}}").redirect
    assert fx.as_dict(redirect_action(found, 9080)) == expected


def test_retry_remote_localities_skips_tried_priorities() -> None:
    retries = route(f"retries: {{attempts: 2, retryRemoteLocalities: true}}, {ROUTE_TO_R}").retries
    policy = retry_policy(retries, MeshConfig())
    assert policy is not None
    assert policy.retry_priority.name == "envoy.retry_priorities.previous_priorities"
    plain = retry_policy(route(f"retries: {{attempts: 2}}, {ROUTE_TO_R}").retries, MeshConfig())
    assert plain is not None and not plain.HasField("retry_priority")
