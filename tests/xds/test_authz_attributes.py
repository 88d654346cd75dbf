"""Each AuthorizationPolicy field and ``when`` key as an RBAC principal or permission
(:mod:`sailmesh.xds.authz.attributes`)."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import json_format

from sailmesh.xds.authz.attributes import (
    OPERATION_ATTRIBUTES,
    Attribute,
    service_account_regex,
    source_attributes,
    trust_domain_variants,
    when_attribute,
)

SPIFFE = "spiffe://cluster.local/ns/default/sa/a"


def built(attribute: Attribute, values: list[str]) -> list[dict[str, Any]]:
    build = attribute.principals or attribute.permissions
    assert build is not None
    return [json_format.MessageToDict(m, preserving_proto_field_name=True) for m in build(values)]


def authenticated(matcher: dict[str, Any]) -> dict[str, Any]:
    return {"authenticated": {"principal_name": matcher}}


def jwt(claim: str, matcher: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"filter": "envoy.filters.http.jwt_authn",
                         "path": [{"key": "payload"}, {"key": claim}],
                         "value": {"string_match": matcher}}}  # fmt: skip


SOURCES = source_attributes("default")


@pytest.mark.parametrize(
    ("field", "values", "expected"),
    [
        ("principals", ["cluster.local/ns/default/sa/a"], [authenticated({"exact": SPIFFE})]),
        ("principals", ["*"], [authenticated({"safe_regex": {"regex": ".+"}})]),
        ("namespaces", ["default"], [authenticated({"safe_regex": {"regex": ".*/ns/default/.*"}})]),
        ("namespaces", ["team-*"], [authenticated({"safe_regex": {"regex": ".*/ns/team\\-.*/.*"}})]),
        ("service_accounts", ["other/sa"], [authenticated(
            {"safe_regex": {"regex": "spiffe://.+/ns/other/(.+/|)sa/sa(/.+)?"}})]),
        ("ip_blocks", ["10.0.0.0/8", "bad"], [{"direct_remote_ip": {"address_prefix": "10.0.0.0", "prefix_len": 8}}]),
        ("remote_ip_blocks", ["203.0.113.7"], [{"remote_ip": {"address_prefix": "203.0.113.7", "prefix_len": 32}}]),
    ],
)  # fmt: skip
def test_source_fields(field: str, values: list[str], expected: list[dict[str, Any]]) -> None:
    assert built(SOURCES[field], values) == expected
    assert not SOURCES[field].http_only


def test_service_accounts_default_to_the_policys_namespace() -> None:
    assert service_account_regex("sleep", "foo") == "spiffe://.+/ns/foo/(.+/|)sa/sleep(/.+)?"


@pytest.mark.parametrize(
    ("value", "iss", "sub"),
    [
        ("https://issuer.example.com/alice", {"exact": "https://issuer.example.com"}, {"exact": "alice"}),
        ("*", {"safe_regex": {"regex": ".+"}}, {"safe_regex": {"regex": ".+"}}),
        ("https://issuer.example.com/*", {"exact": "https://issuer.example.com"}, {"safe_regex": {"regex": ".+"}}),
        ("https://issuer.example.com/al*", {"exact": "https://issuer.example.com"}, {"prefix": "al"}),
        ("*/alice", {"safe_regex": {"regex": ".+"}}, {"exact": "alice"}),
        ("*.example.com/alice", {"suffix": ".example.com"}, {"exact": "alice"}),
        ("*ice", {"safe_regex": {"regex": ".+"}}, {"suffix": "ice"}),
        ("issuer*", {"prefix": "issuer"}, {"safe_regex": {"regex": ".+"}}),
        ("issuer", {"exact": "issuer"}, {"exact": ""}),
    ],
)  # fmt: skip
def test_request_principals_split_issuer_and_subject_at_the_last_slash(
    value: str, iss: dict[str, Any], sub: dict[str, Any]
) -> None:
    attribute = SOURCES["request_principals"]
    assert attribute.http_only
    assert built(attribute, [value]) == [{"and_ids": {"ids": [jwt("iss", iss), jwt("sub", sub)]}}]


@pytest.mark.parametrize(
    ("field", "values", "expected"),
    [
        ("hosts", ["Api.Example.com"], [{"header": {"name": ":authority", "string_match": {"exact": "Api.Example.com", "ignore_case": True}}}]),
        ("methods", ["GET"], [{"header": {"name": ":method", "string_match": {"exact": "GET"}}}]),
        ("paths", ["/a", "*/b"], [{"url_path": {"path": {"exact": "/a"}}}, {"url_path": {"path": {"suffix": "/b"}}}]),
        ("ports", ["8080", "x"], [{"destination_port": 8080}]),
    ],
)  # fmt: skip
def test_operation_fields(field: str, values: list[str], expected: list[dict[str, Any]]) -> None:
    attribute = OPERATION_ATTRIBUTES[field]
    assert attribute.side == "permission"
    assert attribute.http_only == (field != "ports")
    assert built(attribute, values) == expected


def claims(path: list[str], value: str) -> dict[str, Any]:
    string = {"string_match": {"exact": value}}
    return {"metadata": {"filter": "envoy.filters.http.jwt_authn",
                         "path": [{"key": "payload"}, *({"key": k} for k in path)],
                         "value": {"or_match": {"value_matchers": [{"list_match": {"one_of": string}}, string]}}}}  # fmt: skip


@pytest.mark.parametrize(
    ("key", "value", "side", "http_only", "expected"),
    [
        ("request.headers[X-User]", "alice", "principal", True, {"header": {"name": "X-User", "string_match": {"exact": "alice"}}}),
        ("source.ip", "10.1.0.0/16", "principal", False, {"direct_remote_ip": {"address_prefix": "10.1.0.0", "prefix_len": 16}}),
        ("remote.ip", "10.1.2.3", "principal", False, {"remote_ip": {"address_prefix": "10.1.2.3", "prefix_len": 32}}),
        ("source.namespace", "ns", "principal", False, authenticated({"safe_regex": {"regex": ".*/ns/ns/.*"}})),
        ("source.principal", "cluster.local/ns/default/sa/a", "principal", False, authenticated({"exact": SPIFFE})),
        ("request.auth.principal", "iss/sub", "principal", True, {"and_ids": {"ids": [jwt("iss", {"exact": "iss"}), jwt("sub", {"exact": "sub"})]}}),
        ("request.auth.audiences", "web", "principal", True, claims(["aud"], "web")),
        ("request.auth.presenter", "app", "principal", True, claims(["azp"], "app")),
        ("request.auth.claims[groups]", "admins", "principal", True, claims(["groups"], "admins")),
        ("request.auth.claims[realm][role]", "x", "principal", True, claims(["realm", "role"], "x")),
        ("destination.ip", "10.0.0.1", "permission", False, {"destination_ip": {"address_prefix": "10.0.0.1", "prefix_len": 32}}),
        ("destination.port", "9080", "permission", False, {"destination_port": 9080}),
        ("connection.sni", "*.local", "permission", False, {"requested_server_name": {"suffix": ".local"}}),
        ("experimental.envoy.filters.network.mysql_proxy[db.table]", "[update]", "permission", False,
         {"metadata": {"filter": "envoy.filters.network.mysql_proxy", "path": [{"key": "db.table"}],
                       "value": {"list_match": {"one_of": {"string_match": {"exact": "update"}}}}}}),
    ],
)  # fmt: skip
def test_every_condition_key(
    key: str, value: str, side: str, http_only: bool, expected: dict[str, Any]
) -> None:
    attribute = when_attribute(key)
    assert attribute is not None
    assert (attribute.side, attribute.http_only) == (side, http_only)
    assert built(attribute, [value]) == [expected]


@pytest.mark.parametrize(
    "key", ["request.host", "request.headers", "request.headers[a][b]", "request.auth.claims[]"]
)
def test_keys_istio_does_not_accept_have_no_attribute(key: str) -> None:
    assert when_attribute(key) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("cluster.local/ns/a/sa/b", ["example.org/ns/a/sa/b", "old.org/ns/a/sa/b"]),
        ("old.org/ns/a/sa/b", ["example.org/ns/a/sa/b", "old.org/ns/a/sa/b"]),
        ("other.org/ns/a/sa/b", ["other.org/ns/a/sa/b"]),
        ("*/ns/a/sa/b", ["*/ns/a/sa/b"]),
        ("cluster.local/ns/a/*", ["cluster.local/ns/a/*"]),
    ],
)
def test_principals_follow_the_trust_domain_and_its_aliases(
    value: str, expected: list[str]
) -> None:
    assert trust_domain_variants(value, ("example.org", "old.org")) == expected
    attribute = source_attributes("default", ("example.org", "old.org"))["principals"]
    found = built(attribute, [value])
    assert len(found) == len(expected)


def test_the_default_trust_domain_keeps_principals_as_written() -> None:
    assert trust_domain_variants("cluster.local/ns/a/sa/b", ("cluster.local",)) == [
        "cluster.local/ns/a/sa/b"
    ]


@pytest.mark.parametrize(
    ("value", "regex"),
    [
        ("cluster.local", "spiffe://cluster\\.local/.*"),
        ("*", "spiffe://[^/]+/.*"),
        ("*.example.org", "spiffe://[^/]*\\.example\\.org/.*"),
        ("team-*", "spiffe://team\\-[^/]*/.*"),
    ],
)
def test_trust_domains_match_the_domain_of_the_peer_identity(value: str, regex: str) -> None:
    attribute = SOURCES["trust_domains"]
    assert not attribute.http_only
    assert built(attribute, [value]) == [authenticated({"safe_regex": {"regex": regex}})]
