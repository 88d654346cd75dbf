"""RateLimitPolicy -> Envoy's local rate limit HTTP filter (``envoy.filters.http.local_ratelimit``).

In: a RateLimitPolicy (``sailmesh.io/v1alpha1``). Out: the ``HttpFilter`` a selected proxy gets
before its router, on the inbound side of a sidecar or on a gateway's listeners (inserted by
:mod:`sailmesh.xds.envoyfilter.apply`, like an EnvoyFilter of the root namespace applied first).

Each policy is one filter (stats under ``ratelimit_<namespace>_<name>``): its default limit (no
``match``, no ``perHeader``) is the filter's token bucket; every other limit is a descriptor
bucket, chosen by the filter's own ``rate_limits`` actions: ``generic_key``/``header_value_match``
(``limit=<name>``, matching ``:path``, ``:method`` and the headers of ``match``) and, for
``perHeader``, ``request_headers`` (a bucket per distinct value: an empty descriptor value is a
wildcard; requests without the header are not counted by that limit). A request is refused
(429, ``x-local-rate-limit: true``) when the default bucket or a bucket it matches is empty.
Without a default limit the filter's bucket is unbounded in practice (2^32-1 tokens a second).
"""

from __future__ import annotations

from envoy.config.core.v3 import base_pb2
from envoy.config.route.v3 import route_components_pb2 as rc_pb2
from envoy.extensions.common.ratelimit.v3 import ratelimit_pb2
from envoy.extensions.filters.http.local_ratelimit.v3 import local_rate_limit_pb2 as lrl_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.type.matcher.v3 import regex_pb2, string_pb2
from envoy.type.v3 import percent_pb2, token_bucket_pb2

from sailmesh.config.models.networking_common import StringMatch
from sailmesh.config.models.ratelimit import RateLimit
from sailmesh.config.resource import Resource
from sailmesh.xds import pb

FILTER_NAME = "envoy.filters.http.local_ratelimit"
LIMIT_KEY = "limit"
HEADER = "x-local-rate-limit"
#: Dynamic (per header value) buckets kept per limit before the oldest are dropped.
MAX_DYNAMIC = 1000


def stat_prefix(policy: Resource) -> str:
    return f"ratelimit_{policy.namespace}_{policy.name}".replace("-", "_").replace(".", "_")


def rate_limit_filter(policy: Resource) -> hcm_pb2.HttpFilter:
    """The local rate limit filter of ``policy``."""
    limits: list[RateLimit] = list(policy.spec.limits or [])
    default = next((lim for lim in limits if lim.match is None and not lim.per_header), None)
    config = lrl_pb2.LocalRateLimit(
        stat_prefix=stat_prefix(policy),
        token_bucket=_bucket(default) if default else _unbounded(),
        filter_enabled=_always("enabled"),
        filter_enforced=_always("enforced"),
        response_headers_to_add=[
            base_pb2.HeaderValueOption(
                header=base_pb2.HeaderValue(key=HEADER, value="true"),
                append_action=base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD,
            )
        ],
        max_dynamic_descriptors=pb.u32(MAX_DYNAMIC),
    )
    for limit in limits:
        if limit is default:
            continue
        entries = [ratelimit_pb2.RateLimitDescriptor.Entry(key=LIMIT_KEY, value=limit.name or "")]
        if limit.per_header:
            entries.append(ratelimit_pb2.RateLimitDescriptor.Entry(key=limit.per_header, value=""))
        config.descriptors.append(
            ratelimit_pb2.LocalRateLimitDescriptor(entries=entries, token_bucket=_bucket(limit))
        )
        config.rate_limits.append(rc_pb2.RateLimit(actions=_actions(limit)))
    return hcm_pb2.HttpFilter(name=FILTER_NAME, typed_config=pb.pack(config))


def _bucket(limit: RateLimit) -> token_bucket_pb2.TokenBucket:
    requests = int(limit.requests or 1)
    nanos = limit.per.nanos if limit.per is not None else 1_000_000_000
    return token_bucket_pb2.TokenBucket(
        max_tokens=requests, tokens_per_fill=pb.u32(requests), fill_interval=pb.duration(nanos)
    )


def _unbounded() -> token_bucket_pb2.TokenBucket:
    return token_bucket_pb2.TokenBucket(
        max_tokens=pb.MAX_UINT32, tokens_per_fill=pb.u32(pb.MAX_UINT32), fill_interval=pb.seconds(1)
    )


def _always(what: str) -> base_pb2.RuntimeFractionalPercent:
    return base_pb2.RuntimeFractionalPercent(
        default_value=percent_pb2.FractionalPercent(
            numerator=100, denominator=percent_pb2.FractionalPercent.HUNDRED
        ),
        runtime_key=f"sailmesh_local_rate_limit_{what}",
    )


def _actions(limit: RateLimit) -> list[rc_pb2.RateLimit.Action]:
    name = limit.name or ""
    headers = _header_matchers(limit)
    if headers:
        first = rc_pb2.RateLimit.Action(
            header_value_match=rc_pb2.RateLimit.Action.HeaderValueMatch(
                descriptor_key=LIMIT_KEY,
                descriptor_value=name,
                expect_match=pb.bool_value(True),
                headers=headers,
            )
        )
    else:
        first = rc_pb2.RateLimit.Action(
            generic_key=rc_pb2.RateLimit.Action.GenericKey(
                descriptor_key=LIMIT_KEY, descriptor_value=name
            )
        )
    actions = [first]
    if limit.per_header:
        actions.append(
            rc_pb2.RateLimit.Action(
                request_headers=rc_pb2.RateLimit.Action.RequestHeaders(
                    header_name=limit.per_header,
                    descriptor_key=limit.per_header,
                    skip_if_absent=True,
                )
            )
        )
    return actions


def _header_matchers(limit: RateLimit) -> list[rc_pb2.HeaderMatcher]:
    match = limit.match
    if match is None:
        return []
    out = []
    if match.path is not None:
        out.append(_matcher(":path", match.path))
    if match.method is not None:
        out.append(_matcher(":method", StringMatch(exact=match.method)))
    out += [_matcher(name, value) for name, value in sorted(match.headers.items())]
    return out


def _matcher(name: str, value: StringMatch) -> rc_pb2.HeaderMatcher:
    if value.regex is not None:
        string = string_pb2.StringMatcher(safe_regex=regex_pb2.RegexMatcher(regex=value.regex))
    elif value.prefix is not None:
        string = string_pb2.StringMatcher(prefix=value.prefix)
    else:
        string = string_pb2.StringMatcher(exact=value.exact or "")
    return rc_pb2.HeaderMatcher(name=name, string_match=string)
