"""Table tests for Telemetry validation, and the Telemetry samples from the seed documents and
Istio's Telemetry API docs (valid ones load; the seeds' mistakes are rejected at their field)."""

from __future__ import annotations

from typing import Any

import pytest

from config_support.documents import istio_doc, problems_at
from sailmesh.config.diagnostics import Level
from sailmesh.config.load import load_text


def doc(spec: dict[str, Any], version: str = "v1") -> str:
    return istio_doc(
        "telemetry.istio.io", "Telemetry", spec, version, name="t", namespace="foo", sort_keys=False
    )


def problems(text: str, level: Level) -> list[tuple[str, str]]:
    return problems_at(text, level)


def has(text: str, path: str, fragment: str, level: Level = Level.ERROR) -> bool:
    return any(p == path and fragment in m for p, m in problems(text, level))


def override(**fields: Any) -> dict[str, Any]:
    return {"metrics": [{"overrides": [fields]}]}


INVALID: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "empty tracing provider",
        {"tracing": [{"providers": [{"name": ""}]}]},
        "spec.tracing[0].providers[0].name",
        "must not be empty",
    ),
    (
        "provider without name",
        {"metrics": [{"providers": [{}]}]},
        "spec.metrics[0].providers[0].name",
        "must not be empty",
    ),
    (
        "access log provider empty",
        {"accessLogging": [{"providers": [{"name": ""}]}]},
        "spec.accessLogging[0].providers[0].name",
        "must not be empty",
    ),
    (
        "sampling above 100",
        {"tracing": [{"randomSamplingPercentage": 150}]},
        "spec.tracing[0].randomSamplingPercentage",
        "between 0.0 and 100.0",
    ),
    (
        "sampling negative",
        {"tracing": [{"randomSamplingPercentage": -1}]},
        "spec.tracing[0].randomSamplingPercentage",
        "between 0.0 and 100.0",
    ),
    (
        "sampling not a number",
        {"tracing": [{"randomSamplingPercentage": "ten"}]},
        "spec.tracing[0].randomSamplingPercentage",
        "valid number",
    ),
    (
        "tracing mode enum",
        {"tracing": [{"match": {"mode": "BOTH"}}]},
        "spec.tracing[0].match.mode",
        "must be one of",
    ),
    (
        "custom tag with two kinds",
        {"tracing": [{"customTags": {"t": {"literal": {"value": "a"}, "header": {"name": "x"}}}}]},
        "spec.tracing[0].customTags.t",
        "exactly one of",
    ),
    (
        "custom tag with no kind",
        {"tracing": [{"customTags": {"t": {}}}]},
        "spec.tracing[0].customTags.t",
        "found none",
    ),
    (
        "literal tag empty",
        {"tracing": [{"customTags": {"t": {"literal": {"value": ""}}}}]},
        "spec.tracing[0].customTags.t.literal.value",
        "must not be empty",
    ),
    (
        "header tag name empty",
        {"tracing": [{"customTags": {"t": {"header": {}}}}]},
        "spec.tracing[0].customTags.t.header.name",
        "must not be empty",
    ),
    (
        "environment tag name empty",
        {"tracing": [{"customTags": {"t": {"environment": {"defaultValue": "x"}}}}]},
        "spec.tracing[0].customTags.t.environment.name",
        "must not be empty",
    ),
    (
        "formatter tag empty",
        {"tracing": [{"customTags": {"t": {"formatter": {"value": ""}}}}]},
        "spec.tracing[0].customTags.t.formatter.value",
        "must not be empty",
    ),
    (
        "unknown metric",
        override(match={"metric": "requests_total"}),
        "spec.metrics[0].overrides[0].match.metric",
        "must be one of",
    ),
    (
        "metric and customMetric",
        override(match={"metric": "REQUEST_COUNT", "customMetric": "x"}),
        "spec.metrics[0].overrides[0].match",
        "not both",
    ),
    (
        "empty customMetric",
        override(match={"customMetric": ""}),
        "spec.metrics[0].overrides[0].match.customMetric",
        "must not be empty",
    ),
    (
        "metrics mode enum",
        override(match={"metric": "REQUEST_COUNT", "mode": "INBOUND"}),
        "spec.metrics[0].overrides[0].match.mode",
        "must be one of",
    ),
    (
        "tag operation enum",
        override(tagOverrides={"a": {"operation": "ADD", "value": "x"}}),
        "spec.metrics[0].overrides[0].tagOverrides.a.operation",
        "must be one of",
    ),
    (
        "upsert needs value",
        override(tagOverrides={"a": {"operation": "UPSERT"}}),
        "spec.metrics[0].overrides[0].tagOverrides.a.value",
        "needs a `value`",
    ),
    (
        "default upsert needs value",
        override(tagOverrides={"a": {}}),
        "spec.metrics[0].overrides[0].tagOverrides.a.value",
        "needs a `value`",
    ),
    (
        "remove with value",
        override(tagOverrides={"a": {"operation": "REMOVE", "value": "x"}}),
        "spec.metrics[0].overrides[0].tagOverrides.a.value",
        "only used with operation UPSERT",
    ),
    (
        "reporting interval",
        {"metrics": [{"reportingInterval": "0s"}]},
        "spec.metrics[0].reportingInterval",
        "must be positive",
    ),
    (
        "empty filter expression",
        {"accessLogging": [{"filter": {"expression": " "}}]},
        "spec.accessLogging[0].filter.expression",
        "must not be empty",
    ),
    (
        "filter without expression",
        {"accessLogging": [{"filter": {}}]},
        "spec.accessLogging[0].filter.expression",
        "must not be empty",
    ),
    (
        "unbalanced filter",
        {"accessLogging": [{"filter": {"expression": "(response.code >= 400"}}]},
        "spec.accessLogging[0].filter.expression",
        "unbalanced",
    ),
    (
        "access log mode enum",
        {"accessLogging": [{"match": {"mode": "ALL"}}]},
        "spec.accessLogging[0].match.mode",
        "must be one of",
    ),
    (
        "selector and targetRefs",
        {
            "selector": {"matchLabels": {"app": "a"}},
            "targetRefs": [{"kind": "Service", "name": "a"}],
        },
        "spec.targetRefs",
        "mutually exclusive",
    ),
    (
        "targetRef bad kind",
        {"targetRef": {"kind": "Pod", "name": "a"}},
        "spec.targetRef",
        "cannot target kind 'Pod'",
    ),
    (
        "selector wildcard",
        {"selector": {"matchLabels": {"app": "*"}}},
        "spec.selector.matchLabels.app",
        "wildcard",
    ),
    (
        "overrides under tracing",
        {"tracing": [{"overrides": []}]},
        "spec.tracing[0].overrides",
        "tracing has no overrides: use `customTags` for span tags; metric overrides belong under spec.metrics[].overrides",
    ),
    (
        "sampling under tracing",
        {"tracing": [{"sampling": {"value": 100.0}}]},
        "spec.tracing[0].sampling",
        "unknown field 'sampling'",
    ),
]


@pytest.mark.parametrize(
    ("spec", "path", "fragment"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid(spec: dict[str, Any], path: str, fragment: str) -> None:
    text = doc(spec)
    assert has(text, path, fragment), problems(text, Level.ERROR)
    assert not load_text(text).resources


WARNINGS: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "two tracing providers",
        {"tracing": [{"providers": [{"name": "a"}, {"name": "b"}]}]},
        "spec.tracing[0].providers",
        "only the first one",
    ),
    (
        "empty selector",
        {"selector": {"matchLabels": {}}},
        "spec.selector.matchLabels",
        "every workload",
    ),
]


@pytest.mark.parametrize(
    ("spec", "path", "fragment"), [c[1:] for c in WARNINGS], ids=[c[0] for c in WARNINGS]
)
def test_warning(spec: dict[str, Any], path: str, fragment: str) -> None:
    text = doc(spec)
    assert has(text, path, fragment, Level.WARNING), problems(text, Level.WARNING)
    assert load_text(text).resources


# --- samples -----------------------------------------------------------------------------------

SEED_MESH_DEFAULT = """
apiVersion: telemetry.istio.io/v1alpha1
kind: Telemetry
metadata:
  name: mesh-default
  namespace: istio-system
spec:
  metrics:
  - providers:
    - name: prometheus
"""

# Seed 001's "Enable telemetry" snippet has no metadata; its spec is valid.
SEED_ENABLE_TELEMETRY = """
apiVersion: telemetry.istio.io/v1alpha1
kind: Telemetry
metadata:
  name: enable-telemetry
spec:
  metrics:
  - providers:
    - name: prometheus
  tracing:
  - providers:
    - name: jaeger
"""

ISTIO_TELEMETRY_DOCS = """
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: mesh-default
  namespace: istio-system
spec:
  tracing:
  - randomSamplingPercentage: 10.00
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: foo-tracing
  namespace: bar
spec:
  selector:
    matchLabels:
      service.istio.io/canonical-name: foo
  tracing:
  - disableSpanReporting: true
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: foo-tracing-alternate
  namespace: baz
spec:
  selector:
    matchLabels:
      service.istio.io/canonical-name: foo
  tracing:
  - providers:
    - name: "zipkin-alternate"
    randomSamplingPercentage: 10.00
    customTags:
      my_new_foo_tag:
        literal:
          value: "foo"
      cluster:
        environment:
          name: ISTIO_META_CLUSTER_ID
          defaultValue: unknown
      user:
        header:
          name: x-user
      path:
        formatter:
          value: "%REQ(:PATH)%"
    useRequestIdForTraceSampling: true
    enableIstioTags: true
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: namespace-metrics
  namespace: myapp
spec:
  metrics:
  - providers:
    - name: prometheus
    reportingInterval: 15s
    overrides:
    - match:
        metric: REQUEST_COUNT
        mode: CLIENT
      tagOverrides:
        request_host:
          value: "request.host"
        destination_port:
          value: "string(destination.port)"
        request_protocol:
          operation: REMOVE
    - match:
        metric: ALL_METRICS
        mode: CLIENT_AND_SERVER
      disabled: true
    - match:
        customMetric: my_custom_metric
      disabled: false
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: mesh-logging
  namespace: istio-system
spec:
  accessLogging:
  - providers:
    - name: envoy
    filter:
      expression: response.code >= 400
  - match:
      mode: SERVER
    disabled: true
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: gateway-tracing
  namespace: istio-ingress
spec:
  targetRefs:
  - kind: Gateway
    group: gateway.networking.k8s.io
    name: my-gateway
  tracing:
  - providers:
    - name: otel-tracing
    randomSamplingPercentage: 100
"""

SAMPLES = {
    "seed mesh-default": (SEED_MESH_DEFAULT, 1),
    "seed enable telemetry": (SEED_ENABLE_TELEMETRY, 1),
    "istio telemetry docs": (ISTIO_TELEMETRY_DOCS, 6),
}


@pytest.mark.parametrize(("text", "count"), list(SAMPLES.values()), ids=list(SAMPLES))
def test_valid_sample_loads(text: str, count: int) -> None:
    result = load_text(text)
    assert not [str(p) for p in result.problems if p.level is Level.ERROR]
    assert len(result.resources) == count


SEED_MY_APP_TELEMETRY = """
apiVersion: telemetry.istio.io/v1alpha1
kind: Telemetry
metadata:
  name: my-app-telemetry
  namespace: default
spec:
  metrics:
  - providers:
    - name: prometheus
  - overrides:
    - match:
        metric: ALL_METRICS
      tagOverrides:
        request_protocol:
          value: "http"
        response_code:
          value: "200"
  tracing:
  - providers:
    - name: jaeger
  - overrides:
    - match:
        metric: ALL_METRICS
      tagOverrides:
        request_id:
          value: "trace-id"
"""

SEED_DEFAULT_TRACING = """
apiVersion: telemetry.istio.io/v1alpha1
kind: Telemetry
metadata:
  name: default-tracing
  namespace: istio-system
spec:
  tracing:
  - providers:
    - name: jaeger
  - customTags:
      user_id:
        header:
          name: x-user-id
      request_id:
        header:
          name: x-request-id
  - sampling:
      value: 100.0  # 100% sampling for production visibility
"""

SEED_PAYMENT_METRICS = """
apiVersion: telemetry.istio.io/v1alpha1
kind: Telemetry
metadata:
  name: payment-metrics
  namespace: production
spec:
  selector:
    matchLabels:
      app: payment-service
  metrics:
  - providers:
    - name: prometheus
  - overrides:
    - match:
        metric: ALL_METRICS
      tagOverrides:
        payment_method:
          operation: UPSERT
          value: "%{REQUEST_HEADERS['x-payment-method']}"
        merchant_id:
          operation: UPSERT
          value: "%{REQUEST_HEADERS['x-merchant-id']}"
  - providers:
    - name: prometheus
    overrides:
    - match:
        metric: requests_total
        mode: CLIENT
      dimensions:
        payment_status: response_code | "success" if (response_code | int) < 400 else "failure"
"""

SEED_TAGGED_FIELDS = """
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: custom
spec:
  metrics:
    - providers:
        - name: prometheus
    - overrides:
        - match:
            metric: ALL_METRICS
          tagged_fields:
            custom_field: "custom_value"
"""

SEED_MISTAKES = [
    ("seed 001 tracing overrides", SEED_MY_APP_TELEMETRY, ["spec.tracing[1].overrides"]),
    ("seed 003 tracing sampling", SEED_DEFAULT_TRACING, ["spec.tracing[2].sampling"]),
    (
        "seed 003 metric name and dimensions",
        SEED_PAYMENT_METRICS,
        [
            "spec.metrics[2].overrides[0].match.metric",
            "spec.metrics[2].overrides[0].dimensions",
        ],
    ),
    ("seed 000 tagged_fields", SEED_TAGGED_FIELDS, ["spec.metrics[1].overrides[0].tagged_fields"]),
]


@pytest.mark.parametrize(
    ("text", "paths"), [c[1:] for c in SEED_MISTAKES], ids=[c[0] for c in SEED_MISTAKES]
)
def test_seed_mistakes_are_rejected_at_their_field(text: str, paths: list[str]) -> None:
    result = load_text(text)
    assert not result.resources
    assert paths == [p.path for p in result.problems if p.level is Level.ERROR]


def test_seed_tracing_overrides_hint_points_to_metrics() -> None:
    [problem] = load_text(SEED_MY_APP_TELEMETRY).problems
    assert "spec.metrics[].overrides" in problem.message


def test_seed_tagged_fields_hint() -> None:
    [problem] = load_text(SEED_TAGGED_FIELDS).problems
    assert "tagOverrides: {<tag>: {value: <expression>}}" in problem.message


def test_defaults_and_both_versions() -> None:
    for version in ("v1", "v1alpha1"):
        [res] = load_text(
            doc(
                override(match={"metric": "REQUEST_COUNT"}, tagOverrides={"a": {"value": "x"}}),
                version,
            )
        ).resources
        match = res.spec.metrics[0].overrides[0].match
        assert match.mode == "CLIENT_AND_SERVER"
        assert res.spec.metrics[0].overrides[0].tag_overrides["a"].operation == "UPSERT"
