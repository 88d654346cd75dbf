"""Table tests for EnvoyFilter (v1alpha3 only) and ProxyConfig (v1beta1 only) validation."""

from __future__ import annotations

from typing import Any

import pytest

from config_support.documents import assert_rejected, networking_doc
from sailmesh.config.load import load_text


def _doc(kind: str, spec: dict[str, Any], version: str) -> str:
    return networking_doc(kind, spec, version)


LUA = {
    "name": "envoy.lua",
    "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
        "inlineCode": "function envoy_on_request(h) end",
    },
}
HCM = "envoy.filters.network.http_connection_manager"


def _patch(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "applyTo": "HTTP_FILTER",
        "match": {
            "context": "SIDECAR_INBOUND",
            "listener": {
                "portNumber": 8080,
                "filterChain": {
                    "filter": {"name": HCM, "subFilter": {"name": "envoy.filters.http.router"}}
                },
            },
        },
        "patch": {"operation": "INSERT_BEFORE", "value": LUA},
    }
    base.update(extra)
    return base


def _ef(*patches: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "workloadSelector": {"labels": {"app": "reviews"}},
        "configPatches": list(patches),
        **extra,
    }


INVALID = [
    (
        "applyTo missing",
        _ef({"patch": {"operation": "MERGE", "value": {}}}),
        "spec.configPatches[0].applyTo",
        "required",
    ),
    (
        "applyTo enum",
        _ef(_patch(applyTo="FILTER")),
        "spec.configPatches[0].applyTo",
        "must be one of",
    ),
    ("patch missing", _ef({"applyTo": "CLUSTER"}), "spec.configPatches[0].patch", "required"),
    (
        "operation missing",
        _ef(_patch(patch={"value": LUA})),
        "spec.configPatches[0].patch.operation",
        "required",
    ),
    (
        "value missing",
        _ef(_patch(patch={"operation": "MERGE"})),
        "spec.configPatches[0].patch.value",
        "needs a value",
    ),
    (
        "insert on cluster",
        _ef({"applyTo": "CLUSTER", "patch": {"operation": "INSERT_FIRST", "value": {"name": "c"}}}),
        "spec.configPatches[0].patch.operation",
        "ordered lists",
    ),
    (
        "replace on listener",
        _ef({"applyTo": "LISTENER", "patch": {"operation": "REPLACE", "value": {"name": "l"}}}),
        "spec.configPatches[0].patch.operation",
        "REPLACE only applies",
    ),
    (
        "wrong match",
        _ef(
            {
                "applyTo": "CLUSTER",
                "match": {"listener": {"portNumber": 80}},
                "patch": {"operation": "MERGE", "value": {}},
            }
        ),
        "spec.configPatches[0].match.listener",
        "needs a cluster match",
    ),
    (
        "two objects",
        _ef(
            {
                "applyTo": "CLUSTER",
                "match": {"cluster": {"service": "a"}, "listener": {}},
                "patch": {"operation": "MERGE", "value": {}},
            }
        ),
        "spec.configPatches[0].match",
        "only one of listener",
    ),
    (
        "filter name",
        _ef(_patch(match={"listener": {"filterChain": {"filter": {"subFilter": {"name": "x"}}}}})),
        "spec.configPatches[0].match.listener.filterChain.filter.name",
        "required",
    ),
    (
        "subfilter hcm",
        _ef(
            _patch(
                match={
                    "listener": {
                        "filterChain": {
                            "filter": {
                                "name": "envoy.filters.network.tcp_proxy",
                                "subFilter": {"name": "x"},
                            }
                        }
                    }
                }
            )
        ),
        "spec.configPatches[0].match.listener.filterChain.filter.subFilter",
        HCM,
    ),
    (
        "proxy version regex",
        _ef(_patch(match={"proxy": {"proxyVersion": "^1\\.(2"}, "listener": {}})),
        "spec.configPatches[0].match.proxy.proxyVersion",
        "invalid regex",
    ),
    (
        "context enum",
        _ef(_patch(match={"context": "INBOUND"})),
        "spec.configPatches[0].match.context",
        "must be one of",
    ),
    (
        "port number",
        _ef(
            {
                "applyTo": "CLUSTER",
                "match": {"cluster": {"portNumber": 0}},
                "patch": {"operation": "MERGE", "value": {}},
            }
        ),
        "spec.configPatches[0].match.cluster.portNumber",
        "1..65535",
    ),
    (
        "selector and targets",
        _ef(
            _patch(),
            targetRefs=[{"kind": "Gateway", "name": "gw", "group": "gateway.networking.k8s.io"}],
        ),
        "spec.targetRefs",
        "only one of workloadSelector or targetRefs",
    ),
    (
        "target name",
        {"targetRefs": [{"kind": "Gateway"}], "configPatches": [_patch()]},
        "spec.targetRefs[0].name",
        "required",
    ),
    (
        "selector empty",
        {"workloadSelector": {"labels": {}}, "configPatches": [_patch()]},
        "spec.workloadSelector.labels",
        "at least one label",
    ),
    (
        "value type",
        _ef(_patch(patch={"operation": "MERGE", "value": "text"})),
        "spec.configPatches[0].patch.value",
        "dictionary",
    ),
]


@pytest.mark.parametrize(
    ("spec", "path", "fragment"), [pytest.param(s, p, f, id=n) for n, s, p, f in INVALID]
)
def test_envoyfilter_invalid(spec: dict[str, Any], path: str, fragment: str) -> None:
    assert_rejected(_doc("EnvoyFilter", spec, "v1alpha3"), path, fragment)


def test_envoyfilter_valid() -> None:
    spec = _ef(
        _patch(),
        {
            "applyTo": "CLUSTER",
            "match": {
                "context": "SIDECAR_OUTBOUND",
                "cluster": {
                    "service": "reviews.default.svc.cluster.local",
                    "portNumber": 9080,
                    "subset": "v1",
                },
            },
            "patch": {"operation": "MERGE", "value": {"connect_timeout": "1s"}},
        },
        {
            "applyTo": "HTTP_ROUTE",
            "match": {
                "routeConfiguration": {
                    "vhost": {"name": "reviews:9080", "route": {"action": "ANY"}},
                    "portNumber": 9080,
                }
            },
            "patch": {"operation": "INSERT_FIRST", "value": {"name": "r"}},
        },
        {
            "applyTo": "NETWORK_FILTER",
            "match": {"listener": {"filterChain": {"filter": {"name": HCM}}}},
            "patch": {"operation": "REMOVE"},
        },
        {
            "applyTo": "HTTP_FILTER",
            "patch": {"operation": "ADD", "filterClass": "AUTHZ", "value": LUA},
        },
        {
            "applyTo": "BOOTSTRAP",
            "match": {"proxy": {"proxyVersion": "^1\\.2[0-9].*", "metadata": {"k": "v"}}},
            "patch": {"operation": "MERGE", "value": {"stats_flush_interval": "5s"}},
        },
        priority=-10,
    )
    result = load_text(_doc("EnvoyFilter", spec, "v1alpha3"))
    # the only problem: the BOOTSTRAP patch needs a proxy restart to take effect
    assert [(p.path, p.level.name) for p in result.problems] == [
        ("spec.configPatches[5].applyTo", "WARNING")
    ], result.problems
    assert "restart" in result.problems[0].message
    patch = result.resources[0].spec.config_patches[0]
    assert patch.patch.value["typed_config"]["@type"].endswith("Lua")


@pytest.mark.parametrize(
    ("kind", "version"),
    [
        ("EnvoyFilter", "v1"),
        ("EnvoyFilter", "v1beta1"),
        ("ProxyConfig", "v1"),
        ("ProxyConfig", "v1alpha3"),
    ],
)
def test_versions_not_served(kind: str, version: str) -> None:
    result = load_text(_doc(kind, {}, version))
    assert not result.resources
    assert any(p.path == "apiVersion" and "not served" in p.message for p in result.problems)


PROXY_INVALID = [
    ("concurrency", {"concurrency": -1}, "spec.concurrency", "negative"),
    (
        "env name",
        {"environmentVariables": {"A=B": "1"}},
        "spec.environmentVariables[A=B]",
        "invalid environment variable",
    ),
    ("image", {"image": {"imageType": "slim"}}, "spec.image.imageType", "unknown image type"),
    (
        "selector",
        {"selector": {"matchLabels": {}}},
        "spec.selector.matchLabels",
        "at least one label",
    ),
    ("unknown", {"concurency": 2}, "spec.concurency", "did you mean 'concurrency'"),
]


@pytest.mark.parametrize(
    ("spec", "path", "fragment"), [pytest.param(s, p, f, id=n) for n, s, p, f in PROXY_INVALID]
)
def test_proxyconfig_invalid(spec: dict[str, Any], path: str, fragment: str) -> None:
    assert_rejected(_doc("ProxyConfig", spec, "v1beta1"), path, fragment)


def test_proxyconfig_valid() -> None:
    spec = {
        "selector": {"matchLabels": {"app": "ratings"}},
        "concurrency": 0,
        "environmentVariables": {"ISTIO_META_DNS_CAPTURE": "true"},
        "image": {"imageType": "distroless"},
    }
    result = load_text(_doc("ProxyConfig", spec, "v1beta1"))
    assert result.problems == []
    assert result.resources[0].spec.concurrency == 0
