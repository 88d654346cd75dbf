"""Why a request failed, per Envoy response flag: the table of causes.

In: a :class:`~sailmesh.xds.explain.situation.Situation`. Out: one
:class:`~sailmesh.xds.explain.situation.Finding` per flag with a known cause (and, for a 403,
the denying AuthorizationPolicy), naming the object and field path that decided, or, when no
config is to blame, what is (the app, a pod that is not running, the client's own timeout).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sailmesh.xds.explain import policies, routing, upstream
from sailmesh.xds.explain.situation import Finding, Situation, failure

CAUSES: dict[str, Callable[[Situation], Finding]] = {
    "FI": lambda s: routing.fault(s, "abort"),
    "DI": lambda s: routing.fault(s, "delay"),
    "UT": routing.timeout,
    "NR": routing.no_route,
    "NC": routing.no_cluster,
    "URX": upstream.retries,
    "UO": upstream.overflow,
    "UH": upstream.no_healthy,
    "UF": upstream.connect_failure,
    "DC": upstream.client_closed,
    "UC": lambda s: upstream.upstream_closed(s, "UC"),
    "UR": lambda s: upstream.upstream_closed(s, "UR"),
    "UAEX": policies.ext_authz,
    "RL": policies.rate_limited,
}

_CONNECT_FAILURE = re.compile(r"connect|refused|reset|timed out|timeout", re.IGNORECASE)


def findings(s: Situation) -> list[Finding]:
    out = [CAUSES[f](s) for f in s.entry.flags if f in CAUSES]
    # retries used up on connection failures: Envoy logs URX alone, the cause is the UF one
    connect = _CONNECT_FAILURE.search(failure(s.entry)) and s.entry.details != "via_upstream"
    if "URX" in s.entry.flags and "UF" not in s.entry.flags and connect:
        out.append(upstream.connect_failure(s))
    denied = policies.rbac(s) if s.entry.code == 403 else None
    return out + ([denied] if denied else [])
