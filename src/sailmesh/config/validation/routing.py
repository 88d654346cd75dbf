"""Checks for the parts of HTTP routes: string matches, destinations, header operations, CORS,
redirects, direct responses and rewrites (used by the VirtualService validator).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence

from sailmesh.config.diagnostics import Report, join_path
from sailmesh.config.models.networking_common import Destination, StringMatch
from sailmesh.config.models.virtualservice import (
    CorsPolicy,
    HeaderOperations,
    Headers,
    HTTPDirectResponse,
    HTTPRedirect,
    HTTPRewrite,
)
from sailmesh.config.validation.common import (
    check_port,
    check_regex,
    wildcard_host_problem,
)
from sailmesh.config.validation.kubernetes.names import (
    DNS1123_LABEL,
    header_name_problem,
    map_path,
)

HTTP_METHODS = frozenset(
    {
        "GET",
        "HEAD",
        "POST",
        "PUT",
        "DELETE",
        "CONNECT",
        "OPTIONS",
        "TRACE",
        "PATCH",
    }
)
ENVOY_REDIRECT_CODES = (301, 302, 303, 307, 308)
MAX_BODY_BYTES = 100 * 1024


def check_string_match(
    report: Report, path: str, match: StringMatch | None, *, allow_empty: bool = True
) -> None:
    """At most one of exact/prefix/regex; the regex must be RE2."""
    if match is None:
        return
    given = [n for n in ("exact", "prefix", "regex") if getattr(match, n) is not None]
    if len(given) > 1:
        report.error(
            path,
            f"only one of exact, prefix or regex may be set (got {', '.join(given)}); "
            "split into separate match blocks to OR them",
        )
    elif not given and not allow_empty:
        report.warn(
            path,
            "empty match: set one of exact, prefix or regex (as written it matches everything)",
        )
    check_regex(report, join_path(path, "regex"), match.regex)


JWT_CLAIM_PREFIX = "@request.auth.claims."
"""Header-match keys that match a validated JWT claim (gateways with RequestAuthentication)."""


def check_string_match_map(
    report: Report, path: str, matches: Mapping[str, StringMatch], *, what: str
) -> None:
    """Header / query parameter matches keyed by name."""
    for name, match in matches.items():
        at = map_path(path, name)
        if not name:
            report.error(path, f"{what} name must not be empty")
            continue
        if what == "header" and name.startswith(JWT_CLAIM_PREFIX):
            if len(name) == len(JWT_CLAIM_PREFIX):
                report.error(at, f"name the claim to match, e.g. '{JWT_CLAIM_PREFIX}groups'")
        elif what == "header":
            problem = header_name_problem(name)
            if problem:
                report.error(at, problem)
            elif name != name.lower():
                report.error(
                    at,
                    f"header name {name!r} must be lowercase (Envoy lowercases header "
                    f"names); write {name.lower()!r}",
                )
        check_string_match(report, at, match)
        if what == "query parameter" and match.prefix is not None:
            report.warn(
                join_path(at, "prefix"),
                "prefix matching is not supported for query parameters; use exact or regex",
            )


def check_destination(report: Report, path: str, dest: Destination | None) -> None:
    """A route/mirror destination: host required (not '*'), subset a DNS label, port 1..65535."""
    if dest is None:
        report.error(path, "required field is missing (destination with at least a host)")
        return
    host_path = join_path(path, "host")
    if not dest.host:
        report.error(
            host_path,
            "required field is missing (the destination service host, e.g. "
            "'reviews' or 'reviews.default.svc.cluster.local')",
        )
    elif dest.host == "*":
        report.error(host_path, "invalid destination host '*': name a service host")
    else:
        problem = wildcard_host_problem(dest.host)
        if problem:
            report.error(host_path, problem)
    if dest.subset is not None and not DNS1123_LABEL.match(dest.subset):
        report.error(
            join_path(path, "subset"),
            f"invalid subset name {dest.subset!r}: must be a "
            "lowercase RFC 1123 label defined in the host's DestinationRule",
        )
    if dest.port is not None:
        check_port(report, join_path(path, "port.number"), dest.port.number)


def check_weights(report: Report, path: str, weights: Sequence[int | None]) -> None:
    total = 0
    for i, weight in enumerate(weights):
        if weight is not None and weight < 0:
            report.error(
                join_path(join_path(path, i), "weight"), f"weight {weight} must not be negative"
            )
        total += max(weight or 0, 0)
    if len(weights) > 1 and total == 0:
        report.error(
            path,
            "total destination weight is 0: give the destinations positive "
            "weights (they are relative, e.g. 90 and 10)",
        )


def check_header_operations(report: Report, path: str, headers: Headers | None) -> None:
    if headers is None:
        return
    for side in ("request", "response"):
        ops: HeaderOperations | None = getattr(headers, side)
        if ops is None:
            continue
        base = join_path(path, side)
        for verb, names in (("set", list(ops.set)), ("add", list(ops.add)), ("remove", ops.remove)):
            for i, name in enumerate(names):
                at = (
                    join_path(join_path(base, verb), i)
                    if verb == "remove"
                    else map_path(join_path(base, verb), name)
                )
                _check_operation_header(report, at, name)


def _check_operation_header(report: Report, path: str, name: str) -> None:
    if not name:
        report.error(path, "header name must not be empty")
    elif name.startswith(":"):
        report.error(
            path,
            f"pseudo-header {name!r} cannot be modified; use rewrite.authority "
            "or rewrite.uri instead",
        )
    else:
        problem = header_name_problem(name)
        if problem:
            report.error(path, problem)


def check_cors(report: Report, path: str, cors: CorsPolicy | None) -> None:
    if cors is None:
        return
    if cors.allow_origin:
        report.warn(
            join_path(path, "allowOrigin"),
            "allowOrigin is deprecated; use allowOrigins "
            "with string matches, e.g. allowOrigins: [{exact: 'https://example.com'}]",
        )
    for i, origin in enumerate(cors.allow_origins):
        check_string_match(
            report, join_path(join_path(path, "allowOrigins"), i), origin, allow_empty=False
        )
    for i, method in enumerate(cors.allow_methods):
        if method not in HTTP_METHODS:
            report.error(
                join_path(join_path(path, "allowMethods"), i),
                f"{method!r} is not a supported HTTP method: use one of "
                f"{', '.join(sorted(HTTP_METHODS))} (uppercase)",
            )
    for field in ("allowHeaders", "exposeHeaders"):
        values = cors.allow_headers if field == "allowHeaders" else cors.expose_headers
        for i, name in enumerate(values):
            if name != "*" and header_name_problem(name):
                report.error(
                    join_path(join_path(path, field), i),
                    f"invalid header name {name!r} (use letters, digits, '-' or '*')",
                )
    if cors.max_age is not None:
        if cors.max_age.nanos < 0:
            report.error(join_path(path, "maxAge"), "maxAge must not be negative")
        elif cors.max_age.nanos % 1_000_000_000:
            report.error(
                join_path(path, "maxAge"),
                "maxAge is accurate only to seconds: use whole seconds, e.g. '24h' or '86400s'",
            )


def check_redirect(report: Report, path: str, redirect: HTTPRedirect) -> None:
    if not (
        redirect.uri
        or redirect.authority
        or redirect.scheme
        or redirect.port is not None
        or redirect.derive_port
        or redirect.prefix_rewrite
    ):
        report.error(
            path, "redirect must set at least one of uri, authority, scheme, port or derivePort"
        )
    if redirect.port is not None and redirect.derive_port is not None:
        report.error(join_path(path, "port"), "only one of port or derivePort may be set")
    check_port(report, join_path(path, "port"), redirect.port)
    code = redirect.redirect_code
    if code is not None:
        at = join_path(path, "redirectCode")
        if not 300 <= code <= 399:
            report.error(
                at, f"redirectCode {code} is not a redirect: use 301, 302, 303, 307 or 308"
            )
        elif code not in ENVOY_REDIRECT_CODES:
            report.warn(
                at,
                f"redirectCode {code} is not supported by Envoy and becomes 301; use "
                "301, 302, 303, 307 or 308",
            )


def check_direct_response(report: Report, path: str, response: HTTPDirectResponse) -> None:
    if response.status is None:
        report.error(join_path(path, "status"), "required field is missing (e.g. 200 or 503)")
    elif not 200 <= response.status <= 599:
        report.error(
            join_path(path, "status"), f"status {response.status} must be in the range 200..599"
        )
    body = response.body
    if body is None:
        return
    if body.string is not None and body.bytes is not None:
        report.error(join_path(path, "body"), "only one of string or bytes may be set")
    size = len((body.string or "").encode())
    if body.bytes is not None:
        try:
            size = len(base64.b64decode(body.bytes, validate=True))
        except (binascii.Error, ValueError):
            report.error(join_path(path, "body.bytes"), "bytes must be base64-encoded")
    if size > MAX_BODY_BYTES:
        report.error(join_path(path, "body"), f"body is {size} bytes; at most 100KB is allowed")


def check_rewrite(report: Report, path: str, rewrite: HTTPRewrite) -> None:
    if rewrite.uri is not None and rewrite.uri_regex_rewrite is not None:
        report.error(path, "only one of uri or uriRegexRewrite may be set")
    if not (rewrite.uri or rewrite.authority or rewrite.uri_regex_rewrite):
        report.error(path, "rewrite must set at least one of uri, authority or uriRegexRewrite")
    if (regex := rewrite.uri_regex_rewrite) is not None:
        at = join_path(path, "uriRegexRewrite")
        if not regex.match:
            report.error(join_path(at, "match"), "required field is missing (an RE2 regex)")
        check_regex(report, join_path(at, "match"), regex.match)
        if regex.rewrite is None:
            report.error(join_path(at, "rewrite"), "required field is missing (e.g. '/\\1')")


__all__ = [
    "check_cors",
    "check_destination",
    "check_direct_response",
    "check_header_operations",
    "check_redirect",
    "check_rewrite",
    "check_string_match",
    "check_string_match_map",
    "check_weights",
]
