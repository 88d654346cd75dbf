"""Table tests for WasmPlugin validation, and Istio's WasmPlugin reference examples."""

from __future__ import annotations

from typing import Any

import pytest

from config_support.documents import istio_doc, problems_at
from sailmesh.config.diagnostics import Level
from sailmesh.config.load import load_text

SHA = "1ef0c9a92b0420cf25f7fe5d481b231464bc88f486ca3b9c83ed5cc21d2f6210"


def doc(spec: dict[str, Any] | None) -> str:
    return istio_doc(
        "extensions.istio.io",
        "WasmPlugin",
        spec,
        "v1alpha1",
        name="w",
        namespace="foo",
        sort_keys=False,
    )


def plugin(**fields: Any) -> dict[str, Any]:
    return {"url": "oci://ghcr.io/org/plugin:1.0", **fields}


def problems(text: str, level: Level) -> list[tuple[str, str]]:
    return problems_at(text, level)


INVALID: list[tuple[str, dict[str, Any] | None, str, str]] = [
    ("no spec", None, "spec.url", "required field is missing"),
    ("url missing", {"phase": "AUTHN"}, "spec.url", "required field is missing"),
    ("url empty", {"url": ""}, "spec.url", "required field is missing"),
    ("url scheme", {"url": "s3://bucket/plugin.wasm"}, "spec.url", "unsupported url scheme 's3'"),
    ("http url without host", {"url": "https:///plugin.wasm"}, "spec.url", "has no host"),
    ("sha256 short", plugin(sha256="abc"), "spec.sha256", "64 lowercase hexadecimal"),
    ("sha256 uppercase", plugin(sha256=SHA.upper()), "spec.sha256", "64 lowercase hexadecimal"),
    ("phase enum", plugin(phase="AUTHENTICATION"), "spec.phase", "must be one of"),
    ("pull policy enum", plugin(imagePullPolicy="Never"), "spec.imagePullPolicy", "must be one of"),
    ("fail strategy enum", plugin(failStrategy="FAIL_SOFT"), "spec.failStrategy", "must be one of"),
    ("type enum", plugin(type="TCP"), "spec.type", "must be one of"),
    ("priority not int", plugin(priority="high"), "spec.priority", "valid integer"),
    ("pluginConfig not a map", plugin(pluginConfig=["a"]), "spec.pluginConfig", "valid dictionary"),
    (
        "pull secret too long",
        plugin(imagePullSecret="x" * 254),
        "spec.imagePullSecret",
        "1 to 253 characters",
    ),
    ("plugin name empty", plugin(pluginName=""), "spec.pluginName", "1 to 256 characters"),
    (
        "match mode enum",
        plugin(match=[{"mode": "INBOUND"}]),
        "spec.match[0].mode",
        "must be one of",
    ),
    (
        "match port range",
        plugin(match=[{"ports": [{"number": 70000}]}]),
        "spec.match[0].ports[0].number",
        "between 1 and 65535",
    ),
    (
        "match port missing",
        plugin(match=[{"ports": [{}]}]),
        "spec.match[0].ports[0].number",
        "required field is missing",
    ),
    (
        "env name missing",
        plugin(vmConfig={"env": [{"value": "x"}]}),
        "spec.vmConfig.env[0].name",
        "required field is missing",
    ),
    (
        "env duplicate",
        plugin(vmConfig={"env": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]}),
        "spec.vmConfig.env[1].name",
        "duplicate",
    ),
    (
        "env host with value",
        plugin(vmConfig={"env": [{"name": "A", "valueFrom": "HOST", "value": "x"}]}),
        "spec.vmConfig.env[0].value",
        "only used with valueFrom: INLINE",
    ),
    (
        "env valueFrom enum",
        plugin(vmConfig={"env": [{"name": "A", "valueFrom": "SECRET"}]}),
        "spec.vmConfig.env[0].valueFrom",
        "must be one of",
    ),
    (
        "selector and targetRefs",
        plugin(
            selector={"matchLabels": {"istio": "ingressgateway"}},
            targetRefs=[{"kind": "Gateway", "name": "gw", "group": "gateway.networking.k8s.io"}],
        ),
        "spec.targetRefs",
        "mutually exclusive",
    ),
    (
        "old selector.labels",
        plugin(selector={"labels": {"app": "a"}}),
        "spec.selector.labels",
        "unknown field 'labels'",
    ),
    ("unknown field", plugin(rootId="x"), "spec.rootId", "unknown field"),
]


@pytest.mark.parametrize(
    ("spec", "path", "fragment"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid(spec: dict[str, Any] | None, path: str, fragment: str) -> None:
    text = doc(spec)
    found = problems(text, Level.ERROR)
    assert any(p == path and fragment in m for p, m in found), found
    assert not load_text(text).resources


WARNINGS: list[tuple[str, dict[str, Any], str, str]] = [
    ("url without scheme", {"url": "ghcr.io/org/plugin:1.0"}, "spec.url", "treated as an OCI"),
    ("http without sha", {"url": "http://example.com/p.wasm"}, "spec.sha256", "plain http"),
    (
        "pull secret for http",
        {"url": "https://example.com/p.wasm", "imagePullSecret": "s"},
        "spec.imagePullSecret",
        "only used for oci://",
    ),
]


@pytest.mark.parametrize(
    ("spec", "path", "fragment"), [c[1:] for c in WARNINGS], ids=[c[0] for c in WARNINGS]
)
def test_warning(spec: dict[str, Any], path: str, fragment: str) -> None:
    text = doc(spec)
    found = problems(text, Level.WARNING)
    assert any(p == path and fragment in m for p, m in found), found
    assert load_text(text).resources


ISTIO_WASM_EXAMPLES = f"""
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: openid-connect
  namespace: istio-ingress
spec:
  selector:
    matchLabels:
      istio: ingressgateway
  url: file:///opt/filters/openid.wasm
  sha256: {SHA}
  phase: AUTHN
  pluginConfig:
    openid_server: authn
    openid_realm: ingress
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: openid-connect-oci
  namespace: istio-ingress
spec:
  selector:
    matchLabels:
      istio: ingressgateway
  url: oci://private-registry:5000/openid-connect/openid:latest
  imagePullPolicy: IfNotPresent
  imagePullSecret: private-registry-pull-secret
  phase: AUTHN
  pluginConfig:
    openid_server: authn
    openid_realm: ingress
  vmConfig:
    env:
    - name: POD_NAME
      valueFrom: HOST
    - name: TRUST_DOMAIN
      value: "cluster.local"
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: basic-auth
  namespace: istio-system
spec:
  targetRefs:
  - kind: Gateway
    group: gateway.networking.k8s.io
    name: bookinfo-gateway
  url: oci://ghcr.io/istio-ecosystem/wasm-extensions/basic_auth:1.12.0
  phase: AUTHN
  priority: 1000
  failStrategy: FAIL_OPEN
  type: HTTP
  pluginName: basic_auth
  match:
  - mode: SERVER
    ports:
    - number: 80
    - number: 8080
  pluginConfig:
    basic_auth_rules:
      - prefix: "/productpage"
        request_methods:
          - "GET"
          - "POST"
        credentials:
          - "ok:test"
          - "YWRtaW4zOmFkbWluMw=="
"""


def test_istio_examples_load() -> None:
    result = load_text(ISTIO_WASM_EXAMPLES)
    assert not [str(p) for p in result.problems if p.level is Level.ERROR]
    assert len(result.resources) == 3
    rules = result.resources[2].spec.plugin_config["basic_auth_rules"]
    assert rules[0]["credentials"] == ["ok:test", "YWRtaW4zOmFkbWluMw=="]


def test_defaults() -> None:
    [res] = load_text(doc(plugin())).resources
    assert res.spec.phase == "UNSPECIFIED_PHASE"
    assert res.spec.fail_strategy == "FAIL_CLOSE"
    assert res.spec.image_pull_policy == "UNSPECIFIED_POLICY"
