"""VirtualService ``HTTPMatchRequest`` -> Envoy ``RouteMatch``, and whether a match applies.

- ``uri`` exact/prefix/regex -> ``path``/``prefix``/``safe_regex`` (``ignoreUriCase`` ->
  ``case_sensitive: false``); no uri -> ``prefix: /``;
- ``scheme``/``method``/``authority`` -> header matchers on ``:scheme``/``:method``/``:authority``;
- ``headers`` exact/prefix/regex, and presence when the StringMatch is empty (or an empty
  prefix), like Istio; ``withoutHeaders`` -> the same with ``invert_match``; header keys
  ``@request.auth.claims.<claim>`` match a verified JWT's claim instead
  (:mod:`sailmesh.xds.jwt.claims`: ``dynamic_metadata`` matchers);
- ``queryParams`` exact/prefix/regex, presence when empty.

``port``, ``sourceLabels``, ``sourceNamespace`` and ``gateways`` are decided while translating
for one proxy, one listener port and the gateway names that proxy answers for there
(:func:`match_applies`): ``{"mesh"}`` for a sidecar, ``{"<ns>/<gateway>"}`` for a gateway's
server. A match block that does not apply is dropped, and a route whose every block was dropped
is dropped. As in Istio, a block naming ``gateways`` applies exactly where one of them is
served (its ``sourceLabels``/``sourceNamespace`` are then not consulted); a block without
``gateways`` inherits the VirtualService's own, which already chose the proxy.
"""

from __future__ import annotations

from typing import Any, TypeVar

from envoy.config.route.v3 import route_components_pb2 as route_pb2
from envoy.type.matcher.v3 import regex_pb2, string_pb2

from sailmesh.registry.model import selector_matches
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MESH_GATEWAY, resolve_gateway_name
from sailmesh.xds.jwt import claim_matcher


def string_matcher(match: Any, ignore_case: bool = False) -> string_pb2.StringMatcher | None:
    """exact/prefix/regex -> StringMatcher; None for an empty match (presence)."""
    if match is None:
        return None
    if match.exact is not None:
        return string_pb2.StringMatcher(exact=match.exact, ignore_case=ignore_case)
    if match.prefix:
        return string_pb2.StringMatcher(prefix=match.prefix, ignore_case=ignore_case)
    if match.regex is not None:
        return string_pb2.StringMatcher(safe_regex=regex_pb2.RegexMatcher(regex=match.regex))
    return None


def header_matcher(name: str, match: Any, invert: bool = False) -> route_pb2.HeaderMatcher:
    """A header condition; an empty StringMatch means "the header is present"."""
    return _match_value(route_pb2.HeaderMatcher(name=name.lower(), invert_match=invert), match)


def query_matcher(name: str, match: Any) -> route_pb2.QueryParameterMatcher:
    return _match_value(route_pb2.QueryParameterMatcher(name=name), match)


_Matcher = TypeVar("_Matcher", route_pb2.HeaderMatcher, route_pb2.QueryParameterMatcher)


def _match_value(out: _Matcher, match: Any) -> _Matcher:
    """``out`` matching ``match``'s string condition, or mere presence when it has none."""
    matcher = string_matcher(match)
    if matcher is None:
        out.present_match = True
    else:
        out.string_match.CopyFrom(matcher)
    return out


def route_match(match: Any) -> route_pb2.RouteMatch:
    """The Envoy match for one HTTPMatchRequest (None: match everything)."""
    out = route_pb2.RouteMatch()
    uri = match.uri if match is not None else None
    if uri is not None and uri.exact is not None:
        out.path = uri.exact
    elif uri is not None and uri.regex is not None:
        out.safe_regex.CopyFrom(regex_pb2.RegexMatcher(regex=uri.regex))
    else:
        out.prefix = uri.prefix if uri is not None and uri.prefix else "/"
    if match is None:
        return out
    if match.ignore_uri_case:
        out.case_sensitive.value = False
    for pseudo, value in (
        (":scheme", match.scheme),
        (":method", match.method),
        (":authority", match.authority),
    ):
        if value is not None:
            out.headers.append(header_matcher(pseudo, value))
    for name in sorted(match.headers or {}):
        _header_or_claim(out, name, match.headers[name], invert=False)
    for name in sorted(match.without_headers or {}):
        _header_or_claim(out, name, match.without_headers[name], invert=True)
    for name in sorted(match.query_params or {}):
        out.query_parameters.append(query_matcher(name, match.query_params[name]))
    return out


def _header_or_claim(out: route_pb2.RouteMatch, name: str, match: Any, invert: bool) -> None:
    """A header condition, or a JWT claim condition for ``@request.auth.claims.*`` keys."""
    claim = claim_matcher(name, string_matcher(match), invert)
    if claim is not None:
        out.dynamic_metadata.append(claim)
    else:
        out.headers.append(header_matcher(name, match, invert=invert))


#: The gateway names a sidecar answers for.
MESH_ONLY: frozenset[str] = frozenset({MESH_GATEWAY})


def match_applies(
    match: Any,
    proxy: Proxy,
    listener_port: int | None,
    vs_namespace: str,
    gateways: frozenset[str] = MESH_ONLY,
) -> bool:
    """Whether a match block can apply to traffic from ``proxy`` on ``listener_port``.

    ``listener_port`` None means "any port" (the explicit-proxy route table). ``gateways`` are
    the resolved names (``mesh``, ``ns/name``) the proxy is translating for.
    """
    if match is None:
        return True
    if match.port and listener_port is not None and match.port != listener_port:
        return False
    if match.gateways:  # Istio: the block's gateways decide alone, source fields are not read
        return any(resolve_gateway_name(g, vs_namespace) in gateways for g in match.gateways)
    if match.source_labels and not selector_matches(match.source_labels, proxy.labels):
        return False
    return not (match.source_namespace and match.source_namespace != proxy.namespace)


def applicable_matches(
    matches: list[Any],
    proxy: Proxy,
    listener_port: int | None,
    vs_namespace: str,
    gateways: frozenset[str] = MESH_ONLY,
) -> list[Any] | None:
    """The blocks of a route that apply (``[None]`` when the route has none); None: drop."""
    if not matches:
        return [None]
    kept = [m for m in matches if match_applies(m, proxy, listener_port, vs_namespace, gateways)]
    return kept or None
