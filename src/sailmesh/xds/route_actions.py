"""Per-route features of a VirtualService HTTP route, as Envoy route fields.

Retries (Istio's default policy when none is set; ``attempts: 0`` disables), fault injection
(``typed_per_filter_config`` for ``envoy.filters.http.fault``), mirroring (runtime fractions in
millionths, as Istio), CORS (``typed_per_filter_config`` for ``envoy.filters.http.cors``),
header manipulation, consistent-hash policies from DestinationRules, redirects and direct
responses. Everything here is a pure function of config models.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from typing import Any

from envoy.config.core.v3 import base_pb2
from envoy.config.route.v3 import route_components_pb2 as route_pb2
from envoy.extensions.filters.common.fault.v3 import fault_pb2 as common_fault_pb2
from envoy.extensions.filters.http.cors.v3 import cors_pb2
from envoy.extensions.filters.http.fault.v3 import fault_pb2
from envoy.extensions.retry.host.previous_hosts.v3 import previous_hosts_pb2
from envoy.extensions.retry.priority.previous_priorities.v3 import (
    previous_priorities_config_pb2 as previous_priorities_pb2,
)
from envoy.type.matcher.v3 import string_pb2
from envoy.type.v3 import percent_pb2
from google.protobuf import wrappers_pb2

from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.xds import pb
from sailmesh.xds.matches import string_matcher

FAULT_FILTER = "envoy.filters.http.fault"
CORS_FILTER = "envoy.filters.http.cors"
PREVIOUS_HOSTS = "envoy.retry_host_predicates.previous_hosts"

_GRPC_CODES = {
    "OK": 0,
    "CANCELLED": 1,
    "UNKNOWN": 2,
    "INVALID_ARGUMENT": 3,
    "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5,
    "ALREADY_EXISTS": 6,
    "PERMISSION_DENIED": 7,
    "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9,
    "ABORTED": 10,
    "OUT_OF_RANGE": 11,
    "UNIMPLEMENTED": 12,
    "INTERNAL": 13,
    "UNAVAILABLE": 14,
    "DATA_LOSS": 15,
    "UNAUTHENTICATED": 16,
}
_REDIRECT_CODES = {
    301: route_pb2.RedirectAction.MOVED_PERMANENTLY,
    302: route_pb2.RedirectAction.FOUND,
    303: route_pb2.RedirectAction.SEE_OTHER,
    307: route_pb2.RedirectAction.TEMPORARY_REDIRECT,
    308: route_pb2.RedirectAction.PERMANENT_REDIRECT,
}


def fraction(percent: float) -> percent_pb2.FractionalPercent:
    """A percentage (0..100) as millionths, like Istio's ``translatePercentToFractionalPercent``."""
    value = max(0.0, min(percent, 100.0))
    return percent_pb2.FractionalPercent(
        numerator=round(value * 10_000), denominator=percent_pb2.FractionalPercent.MILLION
    )


_PREVIOUS_HOSTS = route_pb2.RetryPolicy.RetryHostPredicate(
    name=PREVIOUS_HOSTS, typed_config=pb.pack(previous_hosts_pb2.PreviousHostsPredicate())
)


#: ``retryRemoteLocalities``: retries skip the priorities (localities) already tried, as Istio.
_PREVIOUS_PRIORITIES = route_pb2.RetryPolicy.RetryPriority(
    name="envoy.retry_priorities.previous_priorities",
    typed_config=pb.pack(previous_priorities_pb2.PreviousPrioritiesConfig(update_frequency=2)),
)


def _split_retry_on(text: str) -> tuple[list[str], list[int]]:
    policies: list[str] = []
    codes: list[int] = []
    for item in (p.strip() for p in text.split(",")):
        if item.isdigit():
            codes.append(int(item))
        elif item and item not in policies:
            policies.append(item)
    return policies, codes


def retry_policy(retries: Any, mesh: MeshConfig) -> route_pb2.RetryPolicy | None:
    """Istio's ``retry.ConvertPolicy``: the default policy, or the VirtualService's."""
    attempts = mesh.default_retry_attempts
    if retries is not None:
        attempts = retries.attempts or 0
    if attempts <= 0:
        return None
    policies, codes = _split_retry_on(mesh.default_retry_on)
    codes = codes or [503]
    if retries is not None and retries.retry_on:
        policies, codes = _split_retry_on(retries.retry_on)
        if codes and "retriable-status-codes" not in policies:
            policies.append("retriable-status-codes")
        codes = codes or [503]
    out = route_pb2.RetryPolicy(
        retry_on=",".join(policies),
        num_retries=pb.u32(attempts),
        retriable_status_codes=codes,
        host_selection_retry_max_attempts=5,
    )
    if retries is None or retries.retry_ignore_previous_hosts is not False:
        out.retry_host_predicate.append(_PREVIOUS_HOSTS)
    if retries is not None and retries.per_try_timeout is not None:
        out.per_try_timeout.CopyFrom(pb.duration(retries.per_try_timeout.nanos))
    if retries is not None and retries.backoff is not None:
        out.retry_back_off.base_interval.CopyFrom(pb.duration(retries.backoff.nanos))
    if retries is not None and retries.retry_remote_localities:
        out.retry_priority.CopyFrom(_PREVIOUS_PRIORITIES)
    return out


def fault_config(fault: Any) -> fault_pb2.HTTPFault | None:
    """The per-route ``HTTPFault``; None when nothing translatable is set."""
    if fault is None:
        return None
    out = fault_pb2.HTTPFault()
    delay = fault.delay
    if delay is not None and delay.fixed_delay is not None:
        percent = delay.percentage.value if delay.percentage is not None else delay.percent
        out.delay.CopyFrom(
            common_fault_pb2.FaultDelay(
                fixed_delay=pb.duration(delay.fixed_delay.nanos),
                percentage=fraction(100.0 if percent is None else float(percent)),
            )
        )
    abort = fault.abort
    if abort is not None and (abort.http_status or abort.grpc_status):
        percent = abort.percentage.value if abort.percentage is not None else 100.0
        message = fault_pb2.FaultAbort(percentage=fraction(percent))
        if abort.http_status:
            message.http_status = abort.http_status
        else:
            code = _GRPC_CODES.get(str(abort.grpc_status).upper())
            if code is None:
                return out if out.ByteSize() else None
            message.grpc_status = code
        out.abort.CopyFrom(message)
    return out if out.ByteSize() else None


def mirror_policy(cluster: str, percent: float | None) -> route_pb2.RouteAction.RequestMirrorPolicy:
    out = route_pb2.RouteAction.RequestMirrorPolicy(
        cluster=cluster, trace_sampled=wrappers_pb2.BoolValue(value=False)
    )
    out.runtime_fraction.default_value.CopyFrom(fraction(100.0 if percent is None else percent))
    return out


def cors_policy(cors: Any) -> cors_pb2.CorsPolicy | None:
    """CORS as the per-route config of the CORS filter."""
    if cors is None:
        return None
    out = cors_pb2.CorsPolicy()
    for origin in cors.allow_origins or []:
        matcher = string_matcher(origin)
        if matcher is not None:
            out.allow_origin_string_match.append(matcher)
    for origin in cors.allow_origin or []:
        out.allow_origin_string_match.append(string_pb2.StringMatcher(exact=origin))
    if cors.allow_methods:
        out.allow_methods = ",".join(cors.allow_methods)
    if cors.allow_headers:
        out.allow_headers = ",".join(cors.allow_headers)
    if cors.expose_headers:
        out.expose_headers = ",".join(cors.expose_headers)
    if cors.max_age is not None:
        out.max_age = str(cors.max_age.nanos // 1_000_000_000)
    if cors.allow_credentials is not None:
        out.allow_credentials.value = bool(cors.allow_credentials)
    if cors.unmatched_preflights == "IGNORE":
        out.forward_not_matching_preflights.value = False
    return out


def header_values(ops: Any) -> tuple[list[base_pb2.HeaderValueOption], list[str]]:
    """``set``/``add``/``remove`` -> headers to add (overwrite / append) and to remove."""
    if ops is None:
        return [], []
    out: list[base_pb2.HeaderValueOption] = []
    for values, action in (
        (ops.set, base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD),
        (ops.add, base_pb2.HeaderValueOption.APPEND_IF_EXISTS_OR_ADD),
    ):
        for name in sorted(values or {}):
            out.append(
                base_pb2.HeaderValueOption(
                    header=base_pb2.HeaderValue(key=name, value=values[name]), append_action=action
                )
            )
    return out, list(ops.remove or [])


def hash_policies(consistent: Any) -> list[route_pb2.RouteAction.HashPolicy]:
    """The hash key of a DestinationRule ``consistentHash`` as a route hash policy."""
    if consistent is None:
        return []
    policy = route_pb2.RouteAction.HashPolicy
    if consistent.http_header_name:
        return [policy(header=policy.Header(header_name=consistent.http_header_name))]
    if consistent.http_cookie is not None and consistent.http_cookie.name:
        cookie = policy.Cookie(
            name=consistent.http_cookie.name, path=consistent.http_cookie.path or ""
        )
        if consistent.http_cookie.ttl is not None:
            cookie.ttl.CopyFrom(pb.duration(consistent.http_cookie.ttl.nanos))
        for attribute in consistent.http_cookie.attributes:
            if attribute.name:
                cookie.attributes.add(name=attribute.name, value=attribute.value or "")
        return [policy(cookie=cookie)]
    if consistent.use_source_ip:
        return [policy(connection_properties=policy.ConnectionProperties(source_ip=True))]
    if consistent.http_query_parameter_name:
        return [
            policy(query_parameter=policy.QueryParameter(name=consistent.http_query_parameter_name))
        ]
    return []


def redirect_action(redirect: Any, port: int = 0) -> route_pb2.RedirectAction:
    """Istio's redirect; ``derivePort: FROM_REQUEST_PORT`` redirects to ``port``, the port the
    route serves (Envoy cannot read it from the request; routes are built per port, as in
    Istio), ``FROM_PROTOCOL_DEFAULT`` sets none."""
    out = route_pb2.RedirectAction()
    if redirect.uri:
        out.path_redirect = redirect.uri
    elif redirect.prefix_rewrite:
        out.prefix_rewrite = redirect.prefix_rewrite
    if redirect.authority:
        out.host_redirect = redirect.authority
    if redirect.port:
        out.port_redirect = redirect.port
    elif redirect.derive_port == "FROM_REQUEST_PORT" and port:
        out.port_redirect = port
    if redirect.scheme:
        out.scheme_redirect = redirect.scheme
    code = _REDIRECT_CODES.get(redirect.redirect_code or 301)
    if code is not None:
        out.response_code = code
    return out


def direct_response(response: Any) -> route_pb2.DirectResponseAction:
    out = route_pb2.DirectResponseAction(status=response.status or 200)
    body = response.body
    if body is not None and body.string is not None:
        out.body.inline_string = body.string
    elif body is not None and body.bytes is not None:
        with contextlib.suppress(binascii.Error, ValueError):
            out.body.inline_bytes = base64.b64decode(body.bytes)
    return out
