"""Locality load balancing: Istio's priorities and weights, the setting in use, the golden file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import xds_fixtures as fx
from test_golden import render

from config_support.manifests import manifests
from sailmesh.ads.resources import ENDPOINT
from sailmesh.config.models.destinationrule import LocalityLoadBalancerSetting
from sailmesh.registry.convert import service_entry_inline_workloads, service_entry_services
from sailmesh.registry.model import Endpoint, ServicePort
from sailmesh.xds.endpoints import build_endpoints
from sailmesh.xds.generate import generate_for_hosts
from sailmesh.xds.locality import (
    LocalityContext,
    apply_locality,
    effective_setting,
    group_by_locality,
    locality_matches,
    needs_locality_weights,
)
from sailmesh.xds.scope import build_scope
from sailmesh.xds.translate import translate

GOLDEN = Path(__file__).parent / "golden"
PORT = ServicePort("http", 80, "HTTP")


def ep(address: str, locality: str, weight: int = 1, **labels: str) -> Endpoint:
    return Endpoint("h", PORT, address, 80, locality=locality, weight=weight,
                    labels=fx.frozen_map(labels), workload=address)  # fmt: skip


def setting(**fields: Any) -> LocalityLoadBalancerSetting:
    return LocalityLoadBalancerSetting.model_validate(fields)


def summary(groups: list[Any]) -> list[tuple[str, int, int, list[str]]]:
    return [(g.locality, g.priority, g.weight, [e.address for e in g.endpoints]) for g in groups]


ENDPOINTS = [
    ep("10.0.0.1", "us-east/z1/s1"),
    ep("10.0.0.2", "us-east/z1/s2"),
    ep("10.0.0.3", "us-east/z2"),
    ep("10.0.0.4", "eu-west/z1"),
    ep("10.0.0.5", "ap-south/z1"),
]
PROXY = "us-east/z1/s1"


def test_locality_matches_like_istio() -> None:
    assert locality_matches("us-east/z1/s1", "us-east/*")
    assert locality_matches("us-east/z1/s1", "us-east")
    assert locality_matches("us-east/z1/s1", "*")
    assert locality_matches("us-east/z1/s1", "us-east/z1/s1")
    assert not locality_matches("us-east/z1/s1", "us-east/z2/*")
    assert not locality_matches("us-west/z1", "us-east/*")


def test_default_failover_orders_by_proximity() -> None:
    ctx = LocalityContext(PROXY, {}, setting(), failover=True)
    found = summary(apply_locality(group_by_locality(ENDPOINTS), ctx))
    priorities = {loc: prio for loc, prio, *_ in found}
    # same subzone 0, same zone 1, same region 2, other regions 3 (renumbered, no gaps)
    assert priorities == {"us-east/z1/s1": 0, "us-east/z1/s2": 1, "us-east/z2": 2,
                          "eu-west/z1": 3, "ap-south/z1": 3}  # fmt: skip


def test_failover_rule_sends_other_regions_last() -> None:
    rule = setting(failover=[{"from": "us-east", "to": "ap-south"}])
    ctx = LocalityContext(PROXY, {}, rule, failover=True)
    priorities = {g.locality: g.priority for g in apply_locality(group_by_locality(ENDPOINTS), ctx)}
    assert priorities["ap-south/z1"] == 3
    assert priorities["eu-west/z1"] == 4


def test_no_failover_without_outlier_detection() -> None:
    ctx = LocalityContext(PROXY, {}, setting(), failover=False)
    groups = apply_locality(group_by_locality(ENDPOINTS), ctx)
    assert {g.priority for g in groups} == {0}
    assert not needs_locality_weights(ctx)


def test_distribute_sets_weights_and_drops_unlisted_localities() -> None:
    endpoints = [ep("10.0.0.1", "r1/z1", weight=1), ep("10.0.0.2", "r1/z1/s2", weight=2),
                 ep("10.0.0.3", "r1/z2"), ep("10.0.0.4", "r2/z1")]  # fmt: skip
    rule = setting(distribute=[{"from": "r2/*", "to": {"r1/*": 100}},
                               {"from": "r1/z1/*", "to": {"r1/z1/*": 80, "r1/z2/*": 20}}])  # fmt: skip
    ctx = LocalityContext("r1/z1/s1", {}, rule)
    found = summary(apply_locality(group_by_locality(endpoints), ctx))
    # z1's share (80) is split over its two groups by their weights (1 and 2), rounded up
    assert found == [("r1/z1", 0, 27, ["10.0.0.1"]), ("r1/z1/s2", 0, 54, ["10.0.0.2"]),
                     ("r1/z2", 0, 20, ["10.0.0.3"])]  # fmt: skip
    assert needs_locality_weights(ctx)


def test_failover_priority_by_labels_then_renumbered() -> None:
    endpoints = [ep("10.0.0.1", "r1/z1", net="a"), ep("10.0.0.2", "r1/z1", net="b"),
                 ep("10.0.0.3", "r2/z1", net="a"), ep("10.0.0.4", "r2/z1", net="b")]  # fmt: skip
    rule = setting(failoverPriority=["net", "topology.kubernetes.io/region"])
    ctx = LocalityContext("r1/z1", {"net": "a"}, rule, failover=True)
    found = summary(apply_locality(group_by_locality(endpoints), ctx))
    # same net and region 0; same net, other region 1; other net 2 (wherever it is)
    assert sorted(found) == [("r1/z1", 0, 1, ["10.0.0.1"]), ("r1/z1", 2, 1, ["10.0.0.2"]),
                             ("r2/z1", 1, 1, ["10.0.0.3"]), ("r2/z1", 2, 1, ["10.0.0.4"])]  # fmt: skip
    override = setting(failoverPriority=["net=b"])
    ctx = LocalityContext("r1/z1", {"net": "a"}, override, failover=True)
    first = [g for g in apply_locality(group_by_locality(endpoints), ctx) if g.priority == 0]
    assert sorted(e.address for g in first for e in g.endpoints) == ["10.0.0.2", "10.0.0.4"]


def test_the_rule_overrides_the_mesh_and_can_disable() -> None:
    mesh = setting(enabled=True)
    assert effective_setting(mesh, None) is mesh
    assert effective_setting(setting(enabled=False), None) is None
    assert effective_setting(mesh, setting(enabled=False)) is None
    rule = setting(failover=[{"from": "a", "to": "b"}])
    assert effective_setting(setting(enabled=False), rule) is rule


LOCATED = manifests("""
ServiceEntry api
  hosts: [api.internal]
  location: MESH_INTERNAL
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints:
  - {address: 10.1.0.1, locality: us-east/z1}
  - {address: 10.1.0.2, locality: us-east/z2}
  - {address: 10.1.0.3, labels: {topology.kubernetes.io/region: eu-west, topology.kubernetes.io/zone: z1}}
---
DestinationRule api
  host: api.internal
  trafficPolicy:
    outlierDetection: {consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 30s}
  subsets:
  - name: spread
    trafficPolicy:
      loadBalancer:
        localityLbSetting:
          distribute:
          - from: us-east/z1/*
            to: {us-east/*: 70, eu-west/*: 30}
""")


def located_output() -> dict[str, Any]:
    resources = fx.config(LOCATED)
    services = [s for r in resources if r.kind == "ServiceEntry" for s in service_entry_services(r)]
    workloads = [w for r in resources if r.kind == "ServiceEntry"
                 for w in service_entry_inline_workloads(r)]  # fmt: skip
    snap = fx.snapshot(resources, services, workloads)
    proxy = fx.productpage_proxy(locality="us-east/z1")
    out = render(translate(proxy, snap))
    keep = ("outbound|80||api.internal", "outbound|80|spread|api.internal")
    return {s: {n: out[s][n] for n in keep} for s in ("clusters", "endpoints")}


def test_golden_locality_failover_and_distribute() -> None:
    """Failover priorities under the mesh default (outlier detection set) and distribute."""
    output = located_output()
    text = json.dumps(output, indent=1, sort_keys=True) + "\n"
    path = GOLDEN / "locality_failover_distribute.json"
    if os.environ.get("SAILMESH_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert json.loads(path.read_text()) == output
    groups = output["endpoints"]["outbound|80||api.internal"]["endpoints"]
    assert [(g["locality"].get("zone"), g.get("priority", 0)) for g in groups] == [
        ("z1", 2), ("z1", 0), ("z2", 1)]  # fmt: skip
    spread = output["endpoints"]["outbound|80|spread|api.internal"]["endpoints"]
    assert [g["load_balancing_weight"] for g in spread] == [30, 35, 35]
    assert "locality_weighted_lb_config" in str(
        output["clusters"]["outbound|80|spread|api.internal"]
    )


def test_per_host_rebuild_applies_locality_too() -> None:
    """The push cache's partial rebuild after a DestinationRule change (generate_for_hosts)
    gives the same endpoints as the full translation."""
    resources = fx.config(LOCATED)
    services = [s for r in resources if r.kind == "ServiceEntry" for s in service_entry_services(r)]
    workloads = [w for r in resources if r.kind == "ServiceEntry"
                 for w in service_entry_inline_workloads(r)]  # fmt: skip
    snap = fx.snapshot(resources, services, workloads)
    scope = build_scope(fx.productpage_proxy(locality="us-east/z1"), snap)
    full = build_endpoints(scope)
    partial = generate_for_hosts(scope, ENDPOINT, frozenset({"api.internal"}))
    assert partial and all(partial[name] == full[name] for name in partial)
    assert any(g.priority for g in partial["outbound|80||api.internal"].endpoints)
