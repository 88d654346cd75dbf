"""RateLimitPolicy (``sailmesh.io/v1alpha1``): local rate limits for the workloads it selects.

Istio has no rate-limit API (its tasks use EnvoyFilter); this small kind says the same in a
few lines. Each limit is a token bucket (``requests`` per ``per``) over the requests a selected
workload's sidecar receives; ``match`` narrows it to some requests (path, method, headers),
``perHeader`` keeps a bucket per distinct value of a request header (per user, per API key).
A limit with neither is the workload's default bucket. Requests over a limit get 429 with
``x-local-rate-limit: true``. Counters are per proxy (local); global limits are out of scope.

Example::

    apiVersion: sailmesh.io/v1alpha1
    kind: RateLimitPolicy
    metadata: {name: productpage, namespace: default}
    spec:
      selector: {matchLabels: {app: productpage}}
      limits:
      - {name: all, requests: 100, per: 1s}
      - name: api-per-user
        requests: 10
        per: 1m
        match: {path: {prefix: /api}}
        perHeader: x-user
"""

from __future__ import annotations

from sailmesh.config.models.base import Duration, Model
from sailmesh.config.models.networking_common import MatchLabelsSelector, StringMatch


class RateLimitMatch(Model):
    """Which requests a limit counts: all of the given conditions hold."""

    path: StringMatch | None = None
    method: str | None = None
    headers: dict[str, StringMatch] = {}


class RateLimit(Model):
    """One token bucket: ``requests`` per ``per``, over the requests ``match`` selects."""

    name: str | None = None
    requests: int | None = None
    per: Duration | None = None
    match: RateLimitMatch | None = None
    per_header: str | None = None


class RateLimitPolicySpec(Model):
    """``spec`` of a RateLimitPolicy."""

    selector: MatchLabelsSelector | None = None
    limits: list[RateLimit] = []


__all__ = ["RateLimit", "RateLimitMatch", "RateLimitPolicySpec"]
