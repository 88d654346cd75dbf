"""``@request.auth.claims.<claim>`` header matches -> route metadata matchers (xds/jwt/claims)."""

from __future__ import annotations

from typing import Any

import pytest
import xds_fixtures as fx

from sailmesh.xds.jwt.claims import claim_matcher, claim_path
from sailmesh.xds.matches import route_match, string_matcher
from sailmesh.xds.simulate import route_matches


def match(block: str) -> Any:
    (route,) = fx.http_routes(f"- match: [{block}]\n  route: [{{destination: {{host: r}}}}]\n")
    return route.match[0]


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("@request.auth.claims.groups", ["groups"]),
        ("@request.auth.claims.org.team", ["org", "team"]),
        ("@request.auth.claims.key1-key2", ["key1-key2"]),
        ("@request.auth.claims.", None),
        ("@request.auth.claims.a..b", None),
        ("@request.auth.claimsgroups", None),
        ("x-groups", None),
    ],
)
def test_claim_paths(name: str, path: list[str] | None) -> None:
    assert claim_path(name) == path


def test_a_claim_match_reads_the_verified_payload_string_or_list() -> None:
    block = '{headers: {"@request.auth.claims.org.groups": {exact: admins}}}'
    found = fx.as_dict(route_match(match(block)))
    assert "headers" not in found
    exact = {"stringMatch": {"exact": "admins"}}
    assert found["dynamicMetadata"] == [
        {
            "filter": "envoy.filters.http.jwt_authn",
            "path": [{"key": "payload"}, {"key": "org"}, {"key": "groups"}],
            "value": {"orMatch": {"valueMatchers": [{"listMatch": {"oneOf": exact}}, exact]}},
        }
    ]


def test_presence_prefix_regex_and_without_headers() -> None:
    block = (
        '{headers: {"@request.auth.claims.sub": {}, "@request.auth.claims.email": '
        '{regex: ".*@example[.]com"}, x-plain: {prefix: a}}, '
        'withoutHeaders: {"@request.auth.claims.banned": {prefix: "y"}}}'
    )
    found = fx.as_dict(route_match(match(block)))
    assert found["headers"] == [{"name": "x-plain", "stringMatch": {"prefix": "a"}}]
    by_claim = {m["path"][1]["key"]: m for m in found["dynamicMetadata"]}
    assert by_claim["sub"]["value"] == {"presentMatch": True}
    email = by_claim["email"]["value"]["orMatch"]["valueMatchers"][1]
    assert email == {"stringMatch": {"safeRegex": {"regex": ".*@example[.]com"}}}
    assert by_claim["banned"]["invert"] is True


def test_other_names_are_not_claims() -> None:
    assert claim_matcher("x-user", string_matcher(None)) is None


def test_simulated_calls_carry_no_token_so_claim_routes_do_not_match() -> None:
    claimed = route_match(match('{headers: {"@request.auth.claims.groups": {exact: a}}}'))
    assert not route_matches(claimed, "/", {":method": "GET"})
    excluded = route_match(match('{withoutHeaders: {"@request.auth.claims.groups": {exact: a}}}'))
    assert route_matches(excluded, "/", {":method": "GET"})
