"""The table of fields accepted but not enforced, and the finder that reports their uses."""

from __future__ import annotations

import pytest

from sailmesh.config import enforcement
from sailmesh.config.analysis.run import analyze
from sailmesh.config.diagnostics import Level
from sailmesh.config.kinds import all_kinds
from sailmesh.config.load import load_text
from sailmesh.config.resource import Resource
from sailmesh.config.unenforced import (
    apply_warning,
    find_unenforced,
    not_enforced_problems,
    split_pattern,
)

DR = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 10}
    loadBalancer: {zoneAwareLbSetting: {enabled: true}}
    portLevelSettings:
    - port: {number: 9080}
      outlierDetection: {outlierDetectionHttpErrorCodes: [500]}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      tunnel: {protocol: CONNECT, targetHost: proxy, targetPort: 3128}
      retryBudget: {percent: 10, budgetInterval: 1s}
      portLevelSettings:
      - port: {number: 9080}
        loadBalancer: {simple: ROUND_ROBIN, zoneAwareLbSetting: {enabled: true}}
"""


def load(text: str) -> list[Resource]:
    result = load_text(text, "f.yaml")
    assert result.ok, result.problems
    return result.resources


def paths(text: str) -> list[str]:
    return [use.path for r in load(text) for use in find_unenforced(r)]


def test_split_pattern() -> None:
    assert split_pattern("spec.http[*].retries") == ("spec", "http", "[*]", "retries")
    assert split_pattern("spec.a[*][*].b") == ("spec", "a", "[*]", "[*]", "b")
    assert split_pattern("spec.meshConfig.*") == ("spec", "meshConfig", "*")
    assert split_pattern("spec") == ("spec",)


def test_table_names_known_kinds_and_valid_patterns() -> None:
    kinds = {k.kind for k in all_kinds()}
    for entry in enforcement.NOT_ENFORCED:
        assert entry.kind in kinds, entry
        assert entry.path == "spec" or entry.path.startswith("spec."), entry
        assert entry.reason and not entry.reason.endswith("."), entry
    keys = [(e.kind, e.path) for e in enforcement.NOT_ENFORCED]
    assert len(keys) == len(set(keys)), "an entry is listed twice"


def test_traffic_policy_fields_are_found_at_every_level() -> None:
    assert paths(DR) == [
        "spec.trafficPolicy.loadBalancer.zoneAwareLbSetting",
        "spec.subsets[0].trafficPolicy.portLevelSettings[0].loadBalancer.zoneAwareLbSetting",
        "spec.trafficPolicy.portLevelSettings[0].outlierDetection.outlierDetectionHttpErrorCodes",
        "spec.subsets[0].trafficPolicy.retryBudget.budgetInterval",
    ]


def test_unset_default_empty_and_false_fields_are_not_uses() -> None:
    text = """\
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress:
  - hosts: ["./*"]
    captureMode: DEFAULT
  inboundConnectionPool:
    http: {h2UpgradePolicy: DEFAULT, useClientProtocol: false, http1MaxPendingRequests: 5}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - retries: {attempts: 3, retryRemoteLocalities: false}
    route: [{destination: {host: reviews}}]
"""
    assert paths(text) == []


def test_values_and_keys_that_are_enforced_are_not_uses() -> None:
    text = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: http}
    hosts: ["*"]
  - port: {number: 31400, name: tcp, protocol: TCP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: default}
spec:
  hosts: [ext.example.com]
  addresses: [240.0.0.1, 240.0.1.0/24]
  ports: [{number: 80, name: http, protocol: HTTP}]
---
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {name: mesh, namespace: istio-system}
spec:
  meshConfig:
    accessLogFile: /dev/stdout
    enableTracing: true
    defaultConfig:
      proxyMetadata: {ISTIO_DELTA_XDS: "false"}
      tracing: {sampling: 10, zipkin: {address: zipkin:9411}}
"""
    # (an address range is enforced now, as the single address is)
    assert paths(text) == ["spec.meshConfig.defaultConfig.tracing.zipkin"]


def test_whole_kinds_are_reported_even_with_an_empty_spec() -> None:
    text = """\
apiVersion: networking.istio.io/v1beta1
kind: ProxyConfig
metadata: {name: mesh-default, namespace: istio-system}
spec: {}
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: nothing, namespace: default}
spec: {url: "oci://example.com/plugin:1"}
"""
    (proxy_config, plugin) = not_enforced_problems(load(text))
    assert apply_warning(proxy_config) == (
        "Warning: [SM0001] ProxyConfig istio-system/mesh-default spec: not enforced: "
        + enforcement.entries_for("ProxyConfig")[0].reason
    )
    assert proxy_config.source is not None and proxy_config.source.line == 4
    assert plugin.path == "spec" and plugin.level is Level.WARNING


def test_uses_are_located_at_their_line() -> None:
    (problem, *_) = not_enforced_problems(load(DR))
    assert problem.source is not None
    line = "    loadBalancer: {zoneAwareLbSetting: {enabled: true}}"
    assert problem.source.line == DR.splitlines().index(line) + 1


def test_analyze_reports_sm0001_in_istio_format() -> None:
    found = [p for p in analyze(load(DR)) if p.code == "SM0001"]
    assert len(found) == 4
    first = found[0]
    assert first.level is Level.WARNING
    assert first.message == (
        "spec.trafficPolicy.loadBalancer.zoneAwareLbSetting: not enforced: Envoy's zone-aware "
        "routing needs the proxy's own service as local cluster, which sidecars here do not "
        "have: use localityLbSetting"
    )


def test_enforced_kinds_exclude_whole_kind_entries() -> None:
    names = tuple(k.kind for k in all_kinds())
    enforced = enforcement.enforced_kinds(names)
    assert "VirtualService" in enforced and "AuthorizationPolicy" in enforced
    assert "WasmPlugin" not in enforced


@pytest.mark.parametrize("entry", enforcement.NOT_ENFORCED, ids=lambda e: f"{e.kind}:{e.path}")
def test_every_entry_can_be_removed_alone(entry: enforcement.NotEnforced) -> None:
    """Entries are independent lines: the table has no derived state to update."""
    assert enforcement.NOT_ENFORCED.count(entry) == 1
