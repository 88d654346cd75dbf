"""Istio's value matching as Envoy matchers (:mod:`sailmesh.xds.authz.matchers`)."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import json_format

from sailmesh.xds.authz import matchers


def as_dict(message: Any) -> dict[str, Any]:
    return dict(json_format.MessageToDict(message, preserving_proto_field_name=True))


@pytest.mark.parametrize(
    ("value", "prefix", "expected"),
    [
        ("abc", "", {"exact": "abc"}),
        ("abc*", "", {"prefix": "abc"}),
        ("*abc", "", {"suffix": "abc"}),
        ("*", "", {"safe_regex": {"regex": ".+"}}),
        ("cluster.local/ns/a/sa/b", "spiffe://", {"exact": "spiffe://cluster.local/ns/a/sa/b"}),
        ("cluster.local/ns/a/*", "spiffe://", {"prefix": "spiffe://cluster.local/ns/a/"}),
        ("*/sa/b", "spiffe://", {"safe_regex": {"regex": "spiffe://.*/sa/b"}}),
        ("*", "spiffe://", {"safe_regex": {"regex": ".+"}}),
        ("*.a+b", "spiffe://", {"safe_regex": {"regex": "spiffe://.*\\.a\\+b"}}),
    ],
)
def test_string_follows_istios_wildcards(value: str, prefix: str, expected: dict[str, Any]) -> None:
    assert as_dict(matchers.string(value, prefix)) == expected


def test_star_means_present_for_headers_and_hosts() -> None:
    assert as_dict(matchers.header("x-user", "*")) == {"name": "x-user", "present_match": True}
    assert as_dict(matchers.header("x-user", "adm*")) == {
        "name": "x-user",
        "string_match": {"prefix": "adm"},
    }
    assert as_dict(matchers.host("*.Example.com")) == {
        "name": ":authority",
        "string_match": {"suffix": ".Example.com", "ignore_case": True},
    }
    assert as_dict(matchers.host("*")) == {"name": ":authority", "present_match": True}


def test_paths_match_without_the_query_and_templates_use_envoys_syntax() -> None:
    assert as_dict(matchers.path("/api/*")) == {"path": {"prefix": "/api/"}}
    assert matchers.is_path_template("/a/{*}") and not matchers.is_path_template("/a/*")
    found = as_dict(matchers.path_template("/a/{*}/b/{**}"))
    assert found["name"] == "envoy.path.match.uri_template.uri_template_matcher"
    assert found["typed_config"]["path_template"] == "/a/*/b/**"


@pytest.mark.parametrize(
    ("value", "prefix", "length"),
    [
        ("10.1.2.3", "10.1.2.3", 32),
        ("10.1.2.3/8", "10.0.0.0", 8),
        ("2001:db8::1/32", "2001:db8::", 32),
        (" 192.0.2.0/24", "192.0.2.0", 24),
    ],
)
def test_cidr_clears_host_bits(value: str, prefix: str, length: int) -> None:
    assert as_dict(matchers.cidr(value)) == {"address_prefix": prefix, "prefix_len": length}
    assert matchers.valid_cidr(value)


def test_invalid_cidr_is_recognised() -> None:
    assert not matchers.valid_cidr("10.0.0.0/33") and not matchers.valid_cidr("host")


def test_claims_match_a_string_or_an_item_of_a_list() -> None:
    found = as_dict(matchers.claim(["realm", "roles"], ["admin", "ops*"]))
    assert found["filter"] == "envoy.filters.http.jwt_authn"
    assert found["path"] == [{"key": "payload"}, {"key": "realm"}, {"key": "roles"}]
    strings = {"or_match": {"value_matchers": [
        {"string_match": {"exact": "admin"}}, {"string_match": {"prefix": "ops"}}]}}  # fmt: skip
    assert found["value"] == {
        "or_match": {"value_matchers": [{"list_match": {"one_of": strings}}, strings]}
    }


def test_filter_metadata_values_in_brackets_match_list_items() -> None:
    found = as_dict(matchers.metadata_value("envoy.filters.x", "k", ["[a]", "b"]))
    assert found["filter"] == "envoy.filters.x" and found["path"] == [{"key": "k"}]
    assert found["value"] == {"or_match": {"value_matchers": [
        {"list_match": {"one_of": {"string_match": {"exact": "a"}}}},
        {"string_match": {"exact": "b"}}]}}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "names"),
    [("[a]", ["a"]), ("[a][b]", ["a", "b"]), ("[a.b]", ["a.b"]), ("[a]x", None), ("a", None)],
)
def test_bracketed_names(text: str, names: list[str] | None) -> None:
    assert matchers.bracketed(text) == names
