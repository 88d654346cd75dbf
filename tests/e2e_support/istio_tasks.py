"""Istio task YAML the e2e tests apply as written in Istio's docs."""

from __future__ import annotations


def rate_limit_task(name: str, selector: str, context: str) -> str:
    """Istio's local rate-limit task EnvoyFilter (``networking/local-ratelimit``), as written
    there: a TypedStruct, 4 tokens a minute, the deprecated ``append: false``."""
    return f"""
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata:
  name: {name}
  namespace: istio-system
spec:
  workloadSelector:
    labels:
      {selector}
  configPatches:
    - applyTo: HTTP_FILTER
      match:
        context: {context}
        listener:
          filterChain:
            filter:
              name: "envoy.filters.network.http_connection_manager"
      patch:
        operation: INSERT_BEFORE
        value:
          name: envoy.filters.http.local_ratelimit
          typed_config:
            "@type": type.googleapis.com/udpa.type.v1.TypedStruct
            type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
            value:
              stat_prefix: http_local_rate_limiter
              token_bucket:
                max_tokens: 4
                tokens_per_fill: 4
                fill_interval: 60s
              filter_enabled:
                runtime_key: local_rate_limit_enabled
                default_value:
                  numerator: 100
                  denominator: HUNDRED
              filter_enforced:
                runtime_key: local_rate_limit_enforced
                default_value:
                  numerator: 100
                  denominator: HUNDRED
              response_headers_to_add:
                - append: false
                  header:
                    key: x-local-rate-limit
                    value: 'true'
"""
