"""Envoy's response flags (``%RESPONSE_FLAGS%``): short name -> long name and what happened."""

from __future__ import annotations

FLAGS: dict[str, tuple[str, str]] = {
    "UH": ("NoHealthyUpstream", "no healthy upstream host in the cluster"),
    "UF": ("UpstreamConnectionFailure", "the connection to the upstream host failed"),
    "UO": ("UpstreamOverflow", "the upstream cluster's circuit breaker tripped"),
    "NR": ("NoRouteFound", "no route for the request (or no filter chain for the connection)"),
    "URX": ("UpstreamRetryLimitExceeded", "retries (or TCP connect attempts) were used up"),
    "NC": ("NoClusterFound", "the route names a cluster this proxy does not have"),
    "DT": ("DurationTimeout", "the request or connection reached its maximum duration"),
    "DC": ("DownstreamConnectionTermination", "the client closed the connection first"),
    "LH": ("FailedLocalHealthCheck", "the upstream host failed its active health check"),
    "UT": ("UpstreamRequestTimeout", "the upstream did not answer within the route's timeout"),
    "LR": ("LocalReset", "the connection was reset locally"),
    "UR": ("UpstreamRemoteReset", "the upstream reset the connection"),
    "UC": ("UpstreamConnectionTermination", "the upstream closed the connection"),
    "DI": ("DelayInjected", "a fault injection delayed the request"),
    "FI": ("FaultInjected", "a fault injection aborted the request"),
    "RL": ("RateLimited", "the local rate limit refused the request"),
    "UAEX": ("UnauthorizedExternalService", "the external authorization service denied it"),
    "RLSE": ("RateLimitServiceError", "the rate limit service failed"),
    "IH": ("InvalidEnvoyRequestHeaders", "the request had invalid x-envoy-* headers"),
    "SI": ("StreamIdleTimeout", "the stream was idle for too long"),
    "DPE": ("DownstreamProtocolError", "the client spoke the protocol wrongly"),
    "UPE": ("UpstreamProtocolError", "the upstream spoke the protocol wrongly"),
    "UMSDR": ("UpstreamMaxStreamDurationReached", "the upstream stream reached its max duration"),
    "OM": ("OverloadManagerTerminated", "the overload manager refused the request"),
    "DF": ("DnsResolutionFailed", "resolving the upstream host's name failed"),
    "DO": ("DropOverload", "the request was dropped by the cluster's drop overload"),
    "DR": ("DownstreamRemoteReset", "the client reset the stream"),
    "NFCF": ("NoFilterConfigFound", "a filter's configuration (ECDS) never arrived"),
}


def describe(flag: str) -> tuple[str, str]:
    return FLAGS.get(flag, (flag, "an Envoy response flag sailmesh has no explanation for"))
