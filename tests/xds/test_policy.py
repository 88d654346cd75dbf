"""The effective DestinationRule traffic policy of a subset and port, and subset lookups."""

from __future__ import annotations

import pytest
import xds_fixtures as fx

from config_support.manifests import manifests
from sailmesh.xds.policy import (
    EMPTY_POLICY,
    consistent_hash,
    effective_policy,
    find_subset,
    subset_labels,
    subset_names,
    uses_consistent_hash,
)


def test_policy_precedence() -> None:
    (dr,) = fx.config(
        manifests("""
DestinationRule r
  host: r
  trafficPolicy:
    loadBalancer: {simple: RANDOM}
    connectionPool: {tcp: {maxConnections: 5}}
    portLevelSettings:
    - port: {number: 80}
      loadBalancer: {simple: ROUND_ROBIN}
  subsets:
  - name: a
    labels: {v: a}
    trafficPolicy:
      connectionPool: {tcp: {maxConnections: 7}}
      portLevelSettings:
      - port: {number: 80}
        loadBalancer: {simple: LEAST_REQUEST}
""")
    )
    top_other_port = effective_policy(dr, "", 81)
    assert top_other_port.load_balancer.simple == "RANDOM"
    top_80 = effective_policy(dr, "", 80)
    assert top_80.load_balancer.simple == "ROUND_ROBIN"
    assert top_80.connection_pool.tcp.max_connections == 5  # inherited
    sub_80 = effective_policy(dr, "a", 80)
    assert sub_80.load_balancer.simple == "LEAST_REQUEST"
    assert sub_80.connection_pool.tcp.max_connections == 7
    assert effective_policy(dr, "a", 81).load_balancer.simple == "RANDOM"


SUBSETS = """
host: r
subsets:
- {name: v1, labels: {version: v1}}
- {name: v2, labels: {version: v2, track: canary}}
"""


def test_subsets() -> None:
    rule = fx.resource("DestinationRule", SUBSETS)
    assert subset_names(rule) == ["v1", "v2"]
    assert find_subset(rule, "v1").labels == {"version": "v1"}
    assert find_subset(rule, "v9") is None
    assert subset_labels(rule, "v2") == {"version": "v2", "track": "canary"}
    assert subset_labels(rule, "v9") == {}
    assert subset_names(None) == [] and find_subset(None, "v1") is None


def test_no_rule_no_policy() -> None:
    assert effective_policy(None, "v1", 80) is EMPTY_POLICY
    assert consistent_hash(EMPTY_POLICY) is None


@pytest.mark.parametrize(
    ("spec", "uses"),
    [
        ("host: r\ntrafficPolicy: {loadBalancer: {simple: RANDOM}}", False),
        ("host: r\ntrafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true}}}", True),
        (
            "host: r\ntrafficPolicy:\n  portLevelSettings:\n"
            "  - {port: {number: 80}, loadBalancer: {consistentHash: {httpHeaderName: u}}}",
            True,
        ),
        (
            "host: r\nsubsets:\n- name: a\n  labels: {v: a}\n"
            "  trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: u}}}",
            True,
        ),
        ("host: r", False),
    ],
)
def test_uses_consistent_hash(spec: str, uses: bool) -> None:
    rule = fx.resource("DestinationRule", spec)
    assert uses_consistent_hash(rule) is uses
    hashing = consistent_hash(effective_policy(rule, "a", 80))
    assert (hashing is not None) is uses
