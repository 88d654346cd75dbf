"""VirtualService ``@request.auth.claims.<claim>`` header matches -> route metadata matchers.

Istio's "JWT claim based routing": a header-match key ``@request.auth.claims.groups`` (nested
claims as ``@request.auth.claims.a.b``) matches the claim of the token the jwt_authn filter
verified, read from its dynamic metadata (namespace ``envoy.filters.http.jwt_authn``, path
``payload`` + the claim path). In: the header name and its Envoy string matcher (None for an
empty match: the claim is present). Out: a ``MetadataMatcher`` whose value matches a string
claim, or any item of a list claim (``groups: [a, b]``, and space-delimited claims such as
``scope``), or None when the name is not a claim key.

Only a proxy that verifies tokens has the metadata, so such routes match at gateways (the
documented pattern; the gateway's jwt_authn filter clears the route cache once a token is
verified so that the route is chosen again); on a sidecar's outbound routes they never match.
"""

from __future__ import annotations

from envoy.type.matcher.v3 import metadata_pb2, string_pb2, value_pb2

from sailmesh.xds.jwt.provider import JWT_AUTHN_FILTER, PAYLOAD_KEY

CLAIM_PREFIX = "@request.auth.claims."


def claim_path(name: str) -> list[str] | None:
    """``@request.auth.claims.a.b`` -> ``["a", "b"]``; None for other names or an empty part."""
    if not name.startswith(CLAIM_PREFIX):
        return None
    path = name[len(CLAIM_PREFIX) :].split(".")
    return path if all(path) else None


def claim_matcher(
    name: str, matcher: string_pb2.StringMatcher | None, invert: bool = False
) -> metadata_pb2.MetadataMatcher | None:
    """The route's metadata matcher for header-match key ``name`` (None: not a claim key)."""
    path = claim_path(name)
    if path is None:
        return None
    out = metadata_pb2.MetadataMatcher(filter=JWT_AUTHN_FILTER, invert=invert)
    for key in [PAYLOAD_KEY, *path]:
        out.path.add(key=key)
    if matcher is None:
        out.value.present_match = True
        return out
    single = value_pb2.ValueMatcher(string_match=matcher)
    in_list = value_pb2.ValueMatcher()
    in_list.list_match.one_of.CopyFrom(single)
    out.value.or_match.value_matchers.extend([in_list, single])
    return out
