"""The tracer of every HTTP connection manager, as the mesh config and the Telemetry API say:
golden files of the ``tracing`` each listener gets, Istio's precedence (mesh, namespace,
workload; CLIENT/SERVER modes), Istio's span tags (``enableIstioTags``), Envoy's
``no_context_propagation`` (``disableContextPropagation``) and real Envoy accepting them and
the external providers."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import xds_fixtures as fx
from envoy.config.trace.v3 import opentelemetry_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from google.protobuf import json_format
from test_envoy_validate import _validate
from xds_envoy_static import envoy_binary, envoy_validate, static_bootstrap

from config_support.manifests import manifests
from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.snapshot.proxy import Proxy
from sailmesh.typeurls import LISTENER
from sailmesh.xds.options import TranslateOptions
from sailmesh.xds.tracing import context_propagation_disabled
from sailmesh.xds.translate import translate

GOLDEN = Path(__file__).parent / "golden" / "tracing"
HCM = "envoy.filters.network.http_connection_manager"
GATEWAY = manifests("""
Gateway bookinfo-gateway
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 8080, name: http, protocol: HTTP}
    hosts: ["*"]
""")
PROVIDERS = {
    "extensionProviders": [
        {"name": "otel", "opentelemetry": {"service": "ratings.default", "port": 9080}},
        {"name": "otel-http", "opentelemetry": {"service": "details", "port": 9080,
                                                "http": {"path": "/otlp/v1/traces", "timeout": "3s",
                                                         "headers": [{"name": "x-tenant", "value": "red"}]}}},
        {"name": "otel-grpc", "opentelemetry": {"service": "ratings.default", "port": 9080,
                                                "grpc": {"timeout": "5s",
                                                         "initialMetadata": [{"name": "x-tenant", "value": "blue"}]}}},
        {"name": "zipkin", "zipkin": {"service": "reviews.default.svc.cluster.local",
                                      "port": 9080}},
    ]
}  # fmt: skip
LAYERED = manifests("""
Telemetry istio-system/mesh-default
  tracing:
  - providers: [{name: otel}]
    randomSamplingPercentage: 100
    customTags:
      cluster: {literal: {value: local}}
---
Telemetry default/namespace
  tracing:
  - customTags:
      user: {header: {name: end-user, defaultValue: anonymous}}
      cluster: {literal: {value: default-ns}}
---
Telemetry default/productpage
  selector: {matchLabels: {app: productpage}}
  tracing:
  - match: {mode: CLIENT}
    randomSamplingPercentage: 10
    useRequestIdForTraceSampling: false
    customTags:
      pod: {environment: {name: POD_NAME, defaultValue: unknown}}
      route: {formatter: {value: "%ROUTE_NAME%"}}
  - match: {mode: SERVER}
    disableSpanReporting: true
""")
ISTIO_TAGS_OFF = manifests("""
Telemetry istio-system/mesh-default
  tracing:
  - randomSamplingPercentage: 100
    customTags:
      istio.namespace: {literal: {value: overridden}}
---
Telemetry default/productpage
  selector: {matchLabels: {app: productpage}}
  tracing:
  - match: {mode: CLIENT}
    enableIstioTags: false
    disableContextPropagation: true
""")
CASES: dict[str, tuple[dict[str, Any], str]] = {
    "default_builtin": ({}, ""),
    "disabled": ({"enableTracing": False}, ""),
    "default_sampling_zipkin": (
        {
            **PROVIDERS,
            "defaultProviders": {"tracing": ["zipkin"]},
            "defaultConfig": {"tracing": {"sampling": 25}},
        },
        "",
    ),
    "otel_http": ({**PROVIDERS, "defaultProviders": {"tracing": ["otel-http"]}}, ""),
    "otel_grpc_options": ({**PROVIDERS, "defaultProviders": {"tracing": ["otel-grpc"]}}, ""),
    "layered": (PROVIDERS, LAYERED),
    "istio_tags_off_no_propagation": ({}, ISTIO_TAGS_OFF),
}


def _router() -> Proxy:
    return fx.productpage_proxy(
        type="router", pod_name="istio-ingressgateway-1", namespace="istio-system",
        labels=fx.frozen_map({"istio": "ingressgateway", "app": "istio-ingressgateway"}),
    )  # fmt: skip


def _hcms(listeners: dict[str, Any]) -> dict[str, hcm_pb2.HttpConnectionManager]:
    out = {}
    for name, listener in sorted(listeners.items()):
        for chain in listener.filter_chains:
            for f in chain.filters:
                if f.name == HCM:
                    hcm = hcm_pb2.HttpConnectionManager()
                    assert f.typed_config.Unpack(hcm)
                    out[f"{name} {chain.name}".strip()] = hcm
    return out


def _translate(case: str, traces: bool = True) -> dict[str, dict[str, Any]]:
    mesh, text = CASES[case]
    snap = fx.snapshot(fx.config(GATEWAY, text) if text else fx.config(GATEWAY),
                       mesh=MeshConfig.from_dict(mesh))  # fmt: skip
    options = TranslateOptions(sds=True, traces=traces)
    return {
        label: translate(proxy, snap, options=options)
        for label, proxy in (("sidecar", fx.productpage_proxy()), ("gateway", _router()))
    }


def _tracing(case: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, resources in _translate(case).items():
        for where, hcm in _hcms(resources[LISTENER]).items():
            entry = {}
            if hcm.HasField("tracing"):
                entry["tracing"] = json_format.MessageToDict(
                    hcm.tracing, preserving_proto_field_name=True
                )
                # a raw field (xds-protos lacks it): MessageToDict would not show it
                if context_propagation_disabled(hcm.tracing):
                    entry["tracing"]["no_context_propagation"] = True
            if hcm.HasField("request_id_extension"):
                entry["request_id_extension"] = json_format.MessageToDict(
                    hcm.request_id_extension, preserving_proto_field_name=True
                )
            out[f"{label} {where}"] = entry
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_tracing(case: str) -> None:
    output = _tracing(case)
    text = json.dumps(output, indent=1, sort_keys=True) + "\n"
    path = GOLDEN / f"{case}.json"
    if os.environ.get("SAILMESH_UPDATE_GOLDEN") == "1" or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if os.environ.get("SAILMESH_UPDATE_GOLDEN") != "1":
            pytest.fail(f"golden file {path.name} was missing and has been written")
    assert json.loads(path.read_text()) == output, (
        f"{path.name} differs; rerun with SAILMESH_UPDATE_GOLDEN=1 if the change is intended"
    )


def _by_direction(case: str) -> tuple[list[Any], list[Any], list[Any]]:
    """(outbound sidecar, inbound sidecar, gateway) HCMs."""
    found = _translate(case)
    sidecar = _hcms(found["sidecar"][LISTENER])
    inbound = [h for k, h in sidecar.items() if k.startswith("virtualInbound")]
    outbound = [h for k, h in sidecar.items() if not k.startswith("virtualInbound")]
    return outbound, inbound, list(_hcms(found["gateway"][LISTENER]).values())


def test_every_hcm_of_sidecars_and_gateways_reports_to_the_builtin_collector() -> None:
    outbound, inbound, gateway = _by_direction("default_builtin")
    assert outbound and inbound and gateway
    for hcm in (*outbound, *inbound, *gateway):
        assert hcm.tracing.random_sampling.value == 1.0
        assert hcm.tracing.provider.name == "envoy.tracers.opentelemetry"
    assert b"productpage.default" in inbound[0].tracing.provider.typed_config.value
    assert b"istio-ingressgateway.istio-system" in gateway[0].tracing.provider.typed_config.value


def test_without_the_collector_cluster_spans_are_not_reported() -> None:
    mesh, _ = CASES["default_builtin"]
    snap = fx.snapshot(fx.config(GATEWAY), mesh=MeshConfig.from_dict(mesh))
    listeners = translate(fx.productpage_proxy(), snap, options=TranslateOptions())[LISTENER]
    for hcm in _hcms(listeners).values():
        assert hcm.HasField("tracing") and not hcm.tracing.HasField("provider")


def test_enable_tracing_false_removes_the_tracer() -> None:
    outbound, inbound, gateway = _by_direction("disabled")
    assert not any(h.HasField("tracing") for h in (*outbound, *inbound, *gateway))


def test_telemetry_levels_merge_in_istio_precedence() -> None:
    outbound, inbound, gateway = _by_direction("layered")
    # workload CLIENT entry: its sampling, its tags merged over the namespace's and mesh's
    client = outbound[0].tracing
    assert client.random_sampling.value == 10.0
    tags = {t.tag: t for t in client.custom_tags if not t.tag.startswith("istio.")}
    assert sorted(tags) == ["cluster", "pod", "route", "user"]
    assert tags["cluster"].literal.value == "default-ns"
    assert tags["user"].request_header.name == "end-user"
    assert tags["pod"].environment.name == "POD_NAME"
    assert tags["route"].value == "%ROUTE_NAME%"
    assert client.provider.name == "envoy.tracers.opentelemetry"
    assert outbound[0].HasField("request_id_extension")
    # SERVER: the mesh's sampling, span reporting disabled (no provider), request id sampling
    server = inbound[0].tracing
    assert server.random_sampling.value == 100.0 and not server.HasField("provider")
    assert not inbound[0].HasField("request_id_extension")
    # the gateway (istio-system is the root namespace): only the mesh-wide object applies
    assert gateway[0].tracing.random_sampling.value == 100.0
    assert [t.tag for t in gateway[0].tracing.custom_tags][-1:] == ["cluster"]
    assert gateway[0].tracing.custom_tags[-1].literal.value == "local"


def _otel(case: str) -> opentelemetry_pb2.OpenTelemetryConfig:
    outbound, _, _ = _by_direction(case)
    config = opentelemetry_pb2.OpenTelemetryConfig()
    assert outbound[0].tracing.provider.typed_config.Unpack(config)
    return config


def test_opentelemetry_providers_export_over_grpc_unless_http_is_set() -> None:
    grpc = _otel("otel_grpc_options")
    assert not grpc.HasField("http_service")
    assert (
        grpc.grpc_service.envoy_grpc.cluster_name
        == "outbound|9080||ratings.default.svc.cluster.local"
    )
    assert grpc.grpc_service.timeout.seconds == 5
    assert [(h.key, h.value) for h in grpc.grpc_service.initial_metadata] == [("x-tenant", "blue")]
    http = _otel("otel_http")
    assert not http.HasField("grpc_service")
    assert http.http_service.http_uri.timeout.seconds == 3
    added = [(h.header.key, h.header.value) for h in http.http_service.request_headers_to_add]
    assert added == [("x-tenant", "red")]


def test_the_builtin_collector_takes_otlp_grpc_over_the_xds_cluster() -> None:
    builtin = _otel("default_builtin")
    assert builtin.grpc_service.envoy_grpc.cluster_name == "xds-grpc"
    assert not builtin.HasField("http_service")


def _literals(hcm: hcm_pb2.HttpConnectionManager) -> dict[str, str]:
    return {t.tag: t.literal.value for t in hcm.tracing.custom_tags if t.HasField("literal")}


def test_istio_span_tags_are_on_by_default() -> None:
    outbound, inbound, gateway = _by_direction("default_builtin")
    sidecar = {
        "istio.canonical_service": "productpage",
        "istio.canonical_revision": "v1",
        "istio.namespace": "default",
        "istio.mesh_id": "cluster.local",
        "istio.cluster_id": "Kubernetes",
    }
    for hcm in (*outbound, *inbound):
        assert _literals(hcm) == sidecar
        assert not context_propagation_disabled(hcm.tracing)
    assert _literals(gateway[0]) == {
        **sidecar,
        "istio.canonical_service": "istio-ingressgateway",
        "istio.canonical_revision": "latest",
        "istio.namespace": "istio-system",
    }


def test_enable_istio_tags_false_and_disable_context_propagation() -> None:
    """productpage's CLIENT entry turns Istio's tags and propagation off for its outbound
    listeners only; a user's tag named like Istio's replaces it where Istio's tags remain."""
    outbound, inbound, gateway = _by_direction("istio_tags_off_no_propagation")
    for hcm in outbound:
        assert _literals(hcm) == {"istio.namespace": "overridden"}
        assert context_propagation_disabled(hcm.tracing)
        assert hcm.tracing.random_sampling.value == 100.0
        assert hcm.tracing.provider.name == "envoy.tracers.opentelemetry"  # still reported
    for hcm in (*inbound, *gateway):
        assert not context_propagation_disabled(hcm.tracing)
        tags = _literals(hcm)
        assert tags["istio.namespace"] == "overridden"
        assert tags["istio.canonical_service"] in ("productpage", "istio-ingressgateway")
        assert [t.tag for t in hcm.tracing.custom_tags].count("istio.namespace") == 1


@pytest.mark.parametrize(
    "case",
    [
        "layered",
        "default_sampling_zipkin",
        "otel_http",
        "otel_grpc_options",
        "istio_tags_off_no_propagation",
    ],
)
def test_envoy_accepts_the_external_tracers(case: str, tmp_path: Path) -> None:
    _validate(_translate(case, traces=False)["sidecar"], tmp_path)


def _moved(resources: dict[str, Any], number: int) -> dict[str, Any]:
    """``resources`` with each HCM's raw ``no_context_propagation`` written at field ``number``."""
    listeners = {}
    for name, listener in resources[LISTENER].items():
        copy = type(listener)()
        copy.CopyFrom(listener)
        for chain in copy.filter_chains:
            for f in chain.filters:
                hcm = hcm_pb2.HttpConnectionManager()
                if f.name != HCM or not f.typed_config.Unpack(hcm):
                    continue
                if context_propagation_disabled(hcm.tracing):
                    hcm.tracing.DiscardUnknownFields()
                    hcm.tracing.MergeFromString(_varint(number << 3) + b"\x01")
                    f.typed_config.Pack(hcm)
        listeners[name] = copy
    return {**resources, LISTENER: listeners}


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes([*out, value])


def _validate_binary(resources: dict[str, Any], tmp_path: Path) -> str:
    """Envoy's validation of ``resources`` as a binary bootstrap (raw fields kept): '' when
    accepted, else Envoy's complaint."""
    binary = envoy_binary()
    assert binary is not None, "the envoy binary is a dependency of the project"
    path = tmp_path / "envoy.pb"
    path.write_bytes(static_bootstrap(resources).SerializeToString())
    done = envoy_validate(binary, path)
    return "" if done.returncode == 0 else done.stdout + done.stderr


def test_envoy_reads_no_context_propagation_at_its_field_number(tmp_path: Path) -> None:
    """The raw field (xds-protos lacks it) is Envoy 1.40's ``no_context_propagation``: a
    binary config with it validates, the same value at an unknown field number does not."""
    resources = _translate("istio_tags_off_no_propagation", traces=False)["sidecar"]
    assert any(context_propagation_disabled(h.tracing) for h in _hcms(resources[LISTENER]).values())
    assert _validate_binary(resources, tmp_path) == ""
    assert _validate_binary(_moved(resources, 13), tmp_path) == ""
    complaint = _validate_binary(_moved(resources, 99), tmp_path)
    assert "unknown field" in complaint.lower(), complaint[-600:]
