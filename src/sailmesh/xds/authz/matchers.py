"""Istio's value-matching rules for authorization, as Envoy matchers.

In: one value as written in an AuthorizationPolicy (``"abc"`` exact, ``"abc*"`` prefix,
``"*abc"`` suffix, ``"*"`` any non-empty value; IP addresses and CIDR ranges; JWT claim paths).
Out: ``envoy.type.matcher.v3`` string, value, metadata and path matchers, header matchers and
CIDR ranges. ``"*"`` becomes the regex ``.+`` (Envoy rejects empty prefixes and suffixes) and,
for headers, a presence match.

JWT claims are read from the payload that ``envoy.filters.http.jwt_authn`` writes in dynamic
metadata (namespace ``envoy.filters.http.jwt_authn``, key ``payload``; see
:mod:`sailmesh.xds.request_security`). A claim may hold one string or a list of strings (e.g.
``aud``, ``groups``): every claim matcher accepts either.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from envoy.config.core.v3 import address_pb2, extension_pb2
from envoy.config.route.v3 import route_components_pb2 as route_pb2
from envoy.extensions.path.match.uri_template.v3 import uri_template_match_pb2
from envoy.type.matcher.v3 import metadata_pb2, path_pb2, regex_pb2, string_pb2, value_pb2

from sailmesh.xds import pb

JWT_FILTER = "envoy.filters.http.jwt_authn"
JWT_PAYLOAD = "payload"
URI_TEMPLATE = "envoy.path.match.uri_template.uri_template_matcher"
SPIFFE_PREFIX = "spiffe://"


def regex(pattern: str) -> string_pb2.StringMatcher:
    return string_pb2.StringMatcher(safe_regex=regex_pb2.RegexMatcher(regex=pattern))


def string(value: str, prefix: str = "", ignore_case: bool = False) -> string_pb2.StringMatcher:
    """Istio's exact / ``prefix*`` / ``*suffix`` / ``*`` match of ``value``, with ``prefix``
    (e.g. ``spiffe://``) in front of what is matched (``*`` matches any value, prefix or not)."""
    if value == "*":
        return regex(".+")
    if value.startswith("*"):
        if prefix:
            return regex(re.escape(prefix) + ".*" + re.escape(value[1:]))
        return string_pb2.StringMatcher(suffix=value[1:], ignore_case=ignore_case)
    if value.endswith("*"):
        return string_pb2.StringMatcher(prefix=prefix + value[:-1], ignore_case=ignore_case)
    return string_pb2.StringMatcher(exact=prefix + value, ignore_case=ignore_case)


def header(name: str, value: str) -> route_pb2.HeaderMatcher:
    """A request header with ``value`` (``*``: the header is present)."""
    if value == "*":
        return route_pb2.HeaderMatcher(name=name, present_match=True)
    return route_pb2.HeaderMatcher(name=name, string_match=string(value))


def host(value: str) -> route_pb2.HeaderMatcher:
    """``:authority`` against an operation's host, case-insensitively (Istio's ``hosts``)."""
    if value == "*":
        return route_pb2.HeaderMatcher(name=":authority", present_match=True)
    return route_pb2.HeaderMatcher(name=":authority", string_match=string(value, ignore_case=True))


def path(value: str) -> path_pb2.PathMatcher:
    """The request path without its query string (Envoy's ``url_path``)."""
    return path_pb2.PathMatcher(path=string(value))


def is_path_template(value: str) -> bool:
    return "{" in value or "}" in value


def path_template(value: str) -> extension_pb2.TypedExtensionConfig:
    """``/a/{*}/b/{**}`` (Istio 1.22+ path templates) as Envoy's URI template matcher, whose
    syntax for one segment and any remaining segments is ``*`` and ``**``."""
    template = value.replace("{**}", "**").replace("{*}", "*")
    config = uri_template_match_pb2.UriTemplateMatchConfig(path_template=template)
    return extension_pb2.TypedExtensionConfig(name=URI_TEMPLATE, typed_config=pb.pack(config))


def cidr(value: str) -> address_pb2.CidrRange:
    """An address (a /32 or /128) or a CIDR range; host bits are cleared as Envoy expects."""
    return pb.cidr_range(value)


def valid_cidr(value: str) -> bool:
    try:
        ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return False
    return True


def _value_of(matcher: string_pb2.StringMatcher) -> value_pb2.ValueMatcher:
    return value_pb2.ValueMatcher(string_match=matcher)


def one_of(values: Sequence[value_pb2.ValueMatcher]) -> value_pb2.ValueMatcher:
    if len(values) == 1:
        return values[0]
    return value_pb2.ValueMatcher(or_match=value_pb2.OrMatcher(value_matchers=list(values)))


def string_or_list(values: Sequence[str]) -> value_pb2.ValueMatcher:
    """A claim value equal (Istio-wise) to one of ``values``, held as a string or in a list."""
    strings = one_of([_value_of(string(v)) for v in values])
    in_list = value_pb2.ValueMatcher(list_match=value_pb2.ListMatcher(one_of=strings))
    return one_of([in_list, strings])


def jwt_metadata(
    path: Sequence[str], value: value_pb2.ValueMatcher
) -> metadata_pb2.MetadataMatcher:
    """A matcher on ``payload.<path...>`` of the JWT filter's dynamic metadata."""
    segments = [metadata_pb2.MetadataMatcher.PathSegment(key=key) for key in (JWT_PAYLOAD, *path)]
    return metadata_pb2.MetadataMatcher(filter=JWT_FILTER, path=segments, value=value)


def claim(path: Sequence[str], values: Sequence[str]) -> metadata_pb2.MetadataMatcher:
    """A JWT claim (nested ``[a][b]`` as a path) with one of ``values``, string or list."""
    return jwt_metadata(path, string_or_list(values))


def claim_string(name: str, matcher: string_pb2.StringMatcher) -> metadata_pb2.MetadataMatcher:
    return jwt_metadata([name], _value_of(matcher))


def metadata_value(
    filter_name: str, key: str, values: Sequence[str]
) -> metadata_pb2.MetadataMatcher:
    """``experimental.envoy.filters.<filter>[<key>]``: dynamic metadata of a filter; a value
    written ``[v]`` matches ``v`` in a list, any other value a string."""
    matchers = []
    for value in values:
        if value.startswith("[") and value.endswith("]"):
            inner = _value_of(string(value[1:-1]))
            matchers.append(value_pb2.ValueMatcher(list_match=value_pb2.ListMatcher(one_of=inner)))
        else:
            matchers.append(_value_of(string(value)))
    segment = metadata_pb2.MetadataMatcher.PathSegment(key=key)
    return metadata_pb2.MetadataMatcher(filter=filter_name, path=[segment], value=one_of(matchers))


def bracketed(names: str) -> list[str] | None:
    """``[a][b]`` -> ``["a", "b"]``; ``[a.b]`` -> ``["a.b"]``; None when malformed."""
    found = re.findall(r"\[([^\[\]]+)\]", names)
    return found if found and "".join(f"[{n}]" for n in found) == names else None
