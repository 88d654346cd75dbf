"""One rule -> one RBAC policy, and Istio's handling of HTTP-only fields on TCP
(:mod:`sailmesh.xds.authz.rules`)."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

from config_support.manifests import manifests
from sailmesh.config.load import load_text
from sailmesh.config.models.security import Rule
from sailmesh.xds.authz.rules import never_matches, rule_policy

ANY_PRINCIPAL = [{"and_ids": {"ids": [{"any": True}]}}]
ANY_PERMISSION = [{"and_rules": {"rules": [{"any": True}]}}]


def rule(yaml: str) -> Rule:
    text = manifests(f"AuthorizationPolicy default/p\n  rules:\n  - {yaml}\n")
    (found,) = load_text(text).resources
    first: Rule = found.spec.rules[0]
    return first


def policy(yaml: str, *, for_tcp: bool = False, allow: bool = True) -> dict[str, Any] | None:
    built = rule_policy(rule(yaml), "default", for_tcp=for_tcp, allow=allow)
    return (
        None
        if built is None
        else json_format.MessageToDict(built, preserving_proto_field_name=True)
    )


def test_an_empty_rule_matches_everything() -> None:
    assert policy("{}") == {"permissions": ANY_PERMISSION, "principals": ANY_PRINCIPAL}


def test_a_policy_without_rules_matches_nothing() -> None:
    found = json_format.MessageToDict(never_matches())
    assert found == {
        "permissions": [{"notRule": {"any": True}}],
        "principals": [{"notId": {"any": True}}],
    }


def test_from_entries_are_ored_and_source_fields_anded_with_the_when_conditions() -> None:
    found = policy(
        "{from: [{source: {ipBlocks: [10.0.0.1], notNamespaces: [x]}}, {source: {ipBlocks: [10.0.0.2]}}], "
        'when: [{key: "request.headers[x-a]", values: [b]}, {key: destination.port, values: ["80"]}]}'
    )
    assert found is not None
    header = {"or_ids": {"ids": [{"header": {"name": "x-a", "string_match": {"exact": "b"}}}]}}
    first, second = found["principals"]
    assert first["and_ids"]["ids"][0]["not_id"]["or_ids"]["ids"][0]["authenticated"]
    assert (
        first["and_ids"]["ids"][1]["or_ids"]["ids"][0]["direct_remote_ip"]["address_prefix"]
        == "10.0.0.1"
    )
    assert first["and_ids"]["ids"][2] == header
    assert (
        second["and_ids"]["ids"][0]["or_ids"]["ids"][0]["direct_remote_ip"]["address_prefix"]
        == "10.0.0.2"
    )
    assert second["and_ids"]["ids"][1] == header
    # the port condition goes to the permission side
    assert found["permissions"] == [
        {"and_rules": {"rules": [{"or_rules": {"rules": [{"destination_port": 80}]}}]}}
    ]


def test_to_entries_are_ored_with_not_values_negated() -> None:
    found = policy(
        "{to: [{operation: {methods: [GET], notPaths: [/admin]}}, {operation: {ports: ['8080']}}]}"
    )
    assert found is not None
    methods, paths = found["permissions"][0]["and_rules"]["rules"]
    assert methods == {
        "or_rules": {"rules": [{"header": {"name": ":method", "string_match": {"exact": "GET"}}}]}
    }
    assert paths == {
        "not_rule": {"or_rules": {"rules": [{"url_path": {"path": {"exact": "/admin"}}}]}}
    }
    assert found["permissions"][1] == {
        "and_rules": {"rules": [{"or_rules": {"rules": [{"destination_port": 8080}]}}]}
    }


def test_an_allow_rule_with_http_only_fields_is_dropped_on_tcp() -> None:
    for http_only in (
        "{to: [{operation: {methods: [GET]}}]}",
        "{to: [{operation: {ports: ['80'], notPaths: [/x]}}]}",
        "{from: [{source: {requestPrincipals: ['*']}}]}",
        "{when: [{key: 'request.auth.claims[role]', values: [a]}]}",
    ):
        assert policy(http_only, for_tcp=True) is None, http_only
        assert policy(http_only, for_tcp=False) is not None


def test_a_deny_rule_keeps_only_its_tcp_conditions_on_tcp() -> None:
    found = policy(
        "{from: [{source: {ipBlocks: [10.0.0.1]}}], to: [{operation: {methods: [POST], ports: ['80']}}]}",
        for_tcp=True,
        allow=False,
    )
    assert found is not None
    assert found["permissions"] == [
        {"and_rules": {"rules": [{"or_rules": {"rules": [{"destination_port": 80}]}}]}}
    ]
    assert found["principals"][0]["and_ids"]["ids"][0]["or_ids"]["ids"][0]["direct_remote_ip"]
    # nothing left: the rule denies every connection
    assert policy("{to: [{operation: {methods: [POST]}}]}", for_tcp=True, allow=False) == {
        "permissions": ANY_PERMISSION,
        "principals": ANY_PRINCIPAL,
    }
