"""VirtualService: the routing rules of networking.istio.io (HTTP, TLS and TCP routes).

Oneofs are separate optional fields (HTTPRoute route/redirect/directResponse/delegate, HTTPRedirect
port/derivePort, abort httpStatus/grpcStatus/http2Error, body string/bytes); the validator
enforces them. Deprecated fields are kept so old YAML loads: ``mirrorPercent`` (also spelled
``mirror_percent``), fault delay ``percent``, CORS ``allowOrigin``.
"""

from __future__ import annotations

from typing import Literal

from sailmesh.config.models.base import DurationStr, Model, Percent, StrMap
from sailmesh.config.models.networking_common import Destination, StringMatch


class HTTPMatchRequest(Model):
    """Conditions ANDed within one match block; match blocks are ORed."""

    name: str | None = None
    uri: StringMatch | None = None
    scheme: StringMatch | None = None
    method: StringMatch | None = None
    authority: StringMatch | None = None
    headers: dict[str, StringMatch] = {}
    port: int | None = None
    source_labels: StrMap = {}
    gateways: list[str] = []
    query_params: dict[str, StringMatch] = {}
    ignore_uri_case: bool | None = None
    without_headers: dict[str, StringMatch] = {}
    source_namespace: str | None = None
    stat_prefix: str | None = None


class HeaderOperations(Model):
    """``set`` overwrites, ``add`` appends, ``remove`` deletes headers."""

    set: StrMap = {}
    add: StrMap = {}
    remove: list[str] = []


class Headers(Model):
    """Header manipulation of requests and responses."""

    request: HeaderOperations | None = None
    response: HeaderOperations | None = None


class HTTPRouteDestination(Model):
    """A weighted destination of an HTTP route (weights are relative; default 100 when alone)."""

    destination: Destination | None = None
    weight: int | None = None
    headers: Headers | None = None


class RouteDestination(Model):
    """A weighted destination of a TCP or TLS route."""

    destination: Destination | None = None
    weight: int | None = None


class HTTPRedirect(Model):
    """A 301 redirect (``redirectCode`` overrides); ``port`` and ``derivePort`` are a oneof."""

    uri: str | None = None
    authority: str | None = None
    port: int | None = None
    derive_port: Literal["FROM_PROTOCOL_DEFAULT", "FROM_REQUEST_PORT"] | None = None
    scheme: str | None = None
    redirect_code: int | None = None
    prefix_rewrite: str | None = None


class HTTPBody(Model):
    """Oneof ``string`` / ``bytes`` (base64)."""

    string: str | None = None
    bytes: str | None = None


class HTTPDirectResponse(Model):
    """A fixed response: ``status`` (required) and optional body."""

    status: int | None = None
    body: HTTPBody | None = None


class Delegate(Model):
    """The VirtualService (``name``, ``namespace``; default: this one's) that holds the routes."""

    name: str | None = None
    namespace: str | None = None


class RegexRewrite(Model):
    """Rewrite the path with an RE2 ``match`` and a ``rewrite`` that may use ``\\1`` groups."""

    match: str | None = None
    rewrite: str | None = None


class HTTPRewrite(Model):
    """Rewrite the path (``uri`` prefix or ``uriRegexRewrite``, exclusive) and/or authority."""

    uri: str | None = None
    authority: str | None = None
    uri_regex_rewrite: RegexRewrite | None = None


class HTTPRetry(Model):
    """Retry policy (Istio's default when unset: 2 attempts on connect-failure, refused-stream,
    unavailable, cancelled, retriable-status-codes)."""

    attempts: int | None = None
    per_try_timeout: DurationStr | None = None
    retry_on: str | None = None
    retry_remote_localities: bool | None = None
    retry_ignore_previous_hosts: bool | None = None
    backoff: DurationStr | None = None


class CorsPolicy(Model):
    """CORS; ``allowOrigin`` (exact strings) is deprecated in favour of ``allowOrigins``."""

    allow_origin: list[str] = []
    allow_origins: list[StringMatch] = []
    allow_methods: list[str] = []
    allow_headers: list[str] = []
    expose_headers: list[str] = []
    max_age: DurationStr | None = None
    allow_credentials: bool | None = None
    unmatched_preflights: Literal["UNSPECIFIED", "FORWARD", "IGNORE"] | None = None


class FaultDelay(Model):
    """Delay ``percentage`` of requests by ``fixedDelay``; ``percent`` (int) is deprecated."""

    fixed_delay: DurationStr | None = None
    exponential_delay: DurationStr | None = None
    percentage: Percent | None = None
    percent: int | None = None


class FaultAbort(Model):
    """Abort ``percentage`` of requests with an HTTP status, gRPC status or HTTP/2 error."""

    http_status: int | None = None
    grpc_status: str | None = None
    http2_error: str | None = None
    percentage: Percent | None = None


class HTTPFaultInjection(Model):
    """Client-side fault injection (timeouts and retries are off while faults are on)."""

    delay: FaultDelay | None = None
    abort: FaultAbort | None = None


class HTTPMirrorPolicy(Model):
    """One of several mirror targets, each with its own percentage (default 100)."""

    destination: Destination | None = None
    percentage: Percent | None = None


class HTTPRoute(Model):
    """An HTTP route: matches, then exactly one of route, redirect, directResponse or delegate."""

    name: str | None = None
    match: list[HTTPMatchRequest] = []
    route: list[HTTPRouteDestination] = []
    redirect: HTTPRedirect | None = None
    direct_response: HTTPDirectResponse | None = None
    delegate: Delegate | None = None
    rewrite: HTTPRewrite | None = None
    timeout: DurationStr | None = None
    retries: HTTPRetry | None = None
    fault: HTTPFaultInjection | None = None
    mirror: Destination | None = None
    mirrors: list[HTTPMirrorPolicy] = []
    mirror_percent: int | None = None
    mirror_percentage: Percent | None = None
    cors_policy: CorsPolicy | None = None
    headers: Headers | None = None


class TLSMatchAttributes(Model):
    """Match TLS traffic by SNI (``sniHosts`` required) and L4 attributes."""

    sni_hosts: list[str] = []
    destination_subnets: list[str] = []
    port: int | None = None
    source_labels: StrMap = {}
    gateways: list[str] = []
    source_namespace: str | None = None


class L4MatchAttributes(Model):
    """Match TCP traffic by L4 attributes."""

    destination_subnets: list[str] = []
    port: int | None = None
    source_subnet: str | None = None
    source_labels: StrMap = {}
    gateways: list[str] = []
    source_namespace: str | None = None


class TLSRoute(Model):
    """Route for non-terminated TLS (passthrough) traffic, by SNI."""

    match: list[TLSMatchAttributes] = []
    route: list[RouteDestination] = []


class TCPRoute(Model):
    """Route for opaque TCP traffic."""

    match: list[L4MatchAttributes] = []
    route: list[RouteDestination] = []


class VirtualServiceSpec(Model):
    """``spec`` of a VirtualService."""

    hosts: list[str] = []
    gateways: list[str] = []
    http: list[HTTPRoute] = []
    tls: list[TLSRoute] = []
    tcp: list[TCPRoute] = []
    export_to: list[str] = []


__all__ = [
    "CorsPolicy",
    "Delegate",
    "FaultAbort",
    "FaultDelay",
    "HTTPBody",
    "HTTPDirectResponse",
    "HTTPFaultInjection",
    "HTTPMatchRequest",
    "HTTPMirrorPolicy",
    "HTTPRedirect",
    "HTTPRetry",
    "HTTPRewrite",
    "HTTPRoute",
    "HTTPRouteDestination",
    "HeaderOperations",
    "Headers",
    "L4MatchAttributes",
    "RegexRewrite",
    "RouteDestination",
    "TCPRoute",
    "TLSMatchAttributes",
    "TLSRoute",
    "VirtualServiceSpec",
]
