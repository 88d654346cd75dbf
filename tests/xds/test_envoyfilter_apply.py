"""EnvoyFilter selection, ordering, proxy matches, value conversion and real Envoy acceptance
(the table of operations is ``test_envoyfilter_table``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from envoy.extensions.filters.http.local_ratelimit.v3 import local_rate_limit_pb2
from envoy.extensions.filters.http.router.v3 import router_pb2
from envoyfilter_world import HCM, envoy_filter, gateway, hcm_of, sidecar, translated, world
from test_envoyfilter_table import CASES, HEADER_MUTATION, case_view, sub
from xds_envoy_static import assert_envoy_accepts, envoy_binary, envoy_validate

from sailmesh.config.load import load_text
from sailmesh.registry.model import frozen_map
from sailmesh.typeurls import CLUSTER, LISTENER
from sailmesh.xds.envoyfilter import has_patches

ROUTER = "envoy.filters.http.router"


def outbound_hcm(resources: dict[str, dict[str, Any]]) -> Any:
    (flt,) = resources[LISTENER]["0.0.0.0_9080"].filter_chains[0].filters
    return hcm_of(flt)


def add_header(name: str, **extra: Any) -> dict[str, Any]:
    value = {**HEADER_MUTATION, "name": name}
    return {
        "configPatches": [
            {
                "applyTo": "HTTP_FILTER",
                "match": sub(ROUTER),
                "patch": {"operation": "INSERT_BEFORE", "value": value},
            }
        ],
        **extra,
    }


def http_names(resources: dict[str, dict[str, Any]]) -> list[str]:
    return [h.name for h in outbound_hcm(resources).http_filters]


def test_patches_apply_root_namespace_first_then_by_priority_then_age() -> None:
    filters = [
        envoy_filter(add_header("local-old"), name="b-old", created="2024-01-01T00:00:00Z"),
        envoy_filter(add_header("local-new"), name="a-new", created="2025-01-01T00:00:00Z"),
        envoy_filter(
            add_header("local-first", priority=-10), name="z", created="2026-01-01T00:00:00Z"
        ),
        envoy_filter(add_header("root"), name="root", namespace="istio-system"),
    ]
    names = http_names(translated(sidecar(), *filters))
    # INSERT_BEFORE the router: the one applied last ends up nearest the router.
    assert names[-5:] == ["root", "local-first", "local-old", "local-new", ROUTER]


def test_workload_selector_target_refs_and_namespaces_select_proxies() -> None:
    selected = envoy_filter(add_header("x", workloadSelector={"labels": {"app": "productpage"}}))
    other = envoy_filter(add_header("x", workloadSelector={"labels": {"app": "reviews"}}))
    elsewhere = envoy_filter(add_header("x"), namespace="other")
    root_selector = envoy_filter(
        add_header("x", workloadSelector={"labels": {"app": "productpage"}}),
        namespace="istio-system",
    )
    assert has_patches(sidecar(), world(selected))
    assert has_patches(sidecar(), world(root_selector))  # root namespace: any namespace
    assert not has_patches(sidecar(), world(other, elsewhere))
    spec = add_header(
        "x", targetRefs=[{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "edge"}]
    )
    by_ref = envoy_filter(spec, namespace="istio-system")
    labelled = gateway().__class__(
        **{
            **gateway().__dict__,
            "labels": frozen_map({"gateway.networking.k8s.io/gateway-name": "edge"}),
        }
    )
    assert has_patches(labelled, world(by_ref))
    assert not has_patches(gateway(), world(by_ref))


def test_context_and_proxy_version_matches() -> None:
    def spec(match: dict[str, Any]) -> dict[str, Any]:
        return {
            "configPatches": [
                {
                    "applyTo": "CLUSTER",
                    "match": match,
                    "patch": {"operation": "MERGE", "value": {"connect_timeout": "4s"}},
                }
            ]
        }

    def timeout(proxy: Any, match: dict[str, Any]) -> set[float]:
        out = translated(proxy, envoy_filter(spec(match), namespace="istio-system"))
        return {c.connect_timeout.ToNanoseconds() / 1e9 for c in out[CLUSTER].values()}

    assert timeout(sidecar(), {"context": "ANY"}) == {4.0}
    assert timeout(sidecar(), {"context": "GATEWAY"}) == {10.0}
    assert timeout(gateway(), {"context": "GATEWAY"}) == {4.0}
    assert timeout(sidecar(), {"proxy": {"proxyVersion": r"^1\.3[0-9]\..*"}}) == {4.0}
    assert timeout(sidecar(), {"proxy": {"proxyVersion": r"^1\.9\..*"}}) == {10.0}
    assert timeout(sidecar(), {"proxy": {"metadata": {"NAMESPACE": "default"}}}) == {4.0}
    assert timeout(sidecar(), {"proxy": {"metadata": {"NAMESPACE": "nope"}}}) == {10.0}


def test_typed_struct_values_become_typed_configs_and_merges_reach_into_them() -> None:
    rate_limit = {
        "name": "envoy.filters.http.local_ratelimit",
        "typed_config": {
            "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
            "type_url": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
            "value": {
                "stat_prefix": "rl",
                "token_bucket": {"max_tokens": 4, "fill_interval": "60s"},
            },
        },
    }
    merge_router = {
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
            "suppress_envoy_headers": True,
        }
    }
    spec = {
        "configPatches": [
            {
                "applyTo": "HTTP_FILTER",
                "match": sub(ROUTER),
                "patch": {"operation": "INSERT_BEFORE", "value": rate_limit},
            },
            {
                "applyTo": "HTTP_FILTER",
                "match": sub(ROUTER),
                "patch": {"operation": "MERGE", "value": merge_router},
            },
        ]
    }
    hcm = outbound_hcm(translated(sidecar(), envoy_filter(spec)))
    by_name = {h.name: h for h in hcm.http_filters}
    limit = local_rate_limit_pb2.LocalRateLimit()
    assert by_name["envoy.filters.http.local_ratelimit"].typed_config.Unpack(limit)
    assert limit.token_bucket.max_tokens == 4
    router = router_pb2.Router()
    assert by_name[ROUTER].typed_config.Unpack(router)
    assert router.suppress_envoy_headers is True


def test_extension_config_add_is_resolved_into_filters_that_discover_it() -> None:
    discovering = {
        "name": "my-header",
        "config_discovery": {
            "config_source": {"ads": {}},
            "type_urls": [
                "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation"
            ],
        },
    }
    spec = {
        "configPatches": [
            {
                "applyTo": "HTTP_FILTER",
                "match": sub(ROUTER),
                "patch": {"operation": "INSERT_BEFORE", "value": discovering},
            },
            {
                "applyTo": "EXTENSION_CONFIG",
                "patch": {
                    "operation": "ADD",
                    "value": {"name": "my-header", "typed_config": HEADER_MUTATION["typed_config"]},
                },
            },
        ]
    }
    hcm = outbound_hcm(translated(sidecar(), envoy_filter(spec)))
    (found,) = [h for h in hcm.http_filters if h.name == "my-header"]
    assert found.WhichOneof("config_type") == "typed_config"
    assert found.typed_config.type_url.endswith("HeaderMutation")


def test_a_value_that_is_not_envoy_config_is_refused_at_validation() -> None:
    bad = {
        "name": "x",
        "typed_config": {"@type": HEADER_MUTATION["typed_config"]["@type"], "no_such_field": 1},
    }
    patch = {"applyTo": "HTTP_FILTER", "match": sub(ROUTER),
             "patch": {"operation": "INSERT_BEFORE", "value": bad}}  # fmt: skip
    text = yaml.safe_dump({"apiVersion": "networking.istio.io/v1alpha3", "kind": "EnvoyFilter",
                           "metadata": {"name": "bad-value", "namespace": "default"},
                           "spec": {"configPatches": [patch]}})  # fmt: skip
    loaded = load_text(text, "ef.yaml")
    assert not loaded.ok and not loaded.resources
    (problem,) = loaded.problems
    assert problem.path == "spec.configPatches[0].patch.value"
    assert "no_such_field" in problem.message and "HTTP_FILTER" in problem.message


def test_the_rate_limit_task_filter_does_not_touch_the_outbound_side() -> None:
    spec = {
        "configPatches": [
            {
                "applyTo": "HTTP_FILTER",
                "match": {
                    "context": "SIDECAR_INBOUND",
                    "listener": {"filterChain": {"filter": {"name": HCM}}},
                },
                "patch": {"operation": "INSERT_BEFORE", "value": HEADER_MUTATION},
            }
        ]
    }
    resources = translated(sidecar(), envoy_filter(spec))
    assert HEADER_MUTATION["name"] not in http_names(resources)


@pytest.mark.parametrize("which", ["sidecar", "gateway"])
def test_real_envoy_accepts_every_patched_table_case(which: str, tmp_path: Path) -> None:
    """Every table case of ``which`` proxy applied together, checked by ``envoy --mode
    validate`` (one Envoy run per proxy kind)."""
    # Left out: removing the listener the others patch, and the cases that leave a terminal
    # filter before another one (Istio's ADD appends after the router or tcp_proxy, REPLACE of
    # tcp_proxy by a non-terminal filter): Envoy rejects those, as the NACK e2e test shows.
    left_out = {
        "listener_remove",
        "http_filter_add",
        "network_filter_add",
        "network_filter_replace",
        "network_filter_insert_after",
    }
    names = [n for n, (w, _) in CASES.items() if w == which and n not in left_out]
    for name in names:
        case_view(name)  # each loads and applies on its own
    specs = []
    for name in names:
        _w, (apply_to, op, match, value, _check) = CASES[name]
        patch: dict[str, Any] = {"operation": op}
        if value is not None:
            patch["value"] = value
        specs.append({"applyTo": apply_to, "match": match, "patch": patch})
    proxy = sidecar() if which == "sidecar" else gateway()
    ns = "default" if which == "sidecar" else "istio-system"
    resources = translated(proxy, envoy_filter({"configPatches": specs}, namespace=ns))
    assert_envoy_accepts(resources, tmp_path, required=True)  # type: ignore[arg-type]


def test_bootstrap_merge_patches_the_bootstrap_a_proxy_starts_with(tmp_path: Path) -> None:
    from sailmesh.xds.bootstrap import UnixAddress, render_bootstrap
    from sailmesh.xds.envoyfilter.bootstrap import patch_bootstrap

    value = {"stats_flush_interval": "7s", "layered_runtime": {"layers": [{"name": "ef", "static_layer": {"x": 1}}]}}  # fmt: skip
    spec = {
        "configPatches": [{"applyTo": "BOOTSTRAP", "patch": {"operation": "MERGE", "value": value}}]
    }
    only_gateways = {
        "configPatches": [{**spec["configPatches"][0], "match": {"context": "GATEWAY"}}]
    }
    document = render_bootstrap(node_id=sidecar().id, cluster="c", xds_address=UnixAddress("/x"))
    patched = patch_bootstrap(document, sidecar(), world(envoy_filter(spec)))
    assert patched["stats_flush_interval"] == "7s"
    assert [layer["name"] for layer in patched["layered_runtime"]["layers"]][-1] == "ef"
    assert patched["node"] == document["node"]
    untouched = patch_bootstrap(document, sidecar(), world(envoy_filter(only_gateways)))
    assert "stats_flush_interval" not in untouched
    binary = envoy_binary()
    assert binary is not None
    config = tmp_path / "bootstrap.json"
    config.write_text(json.dumps(patched))
    done = envoy_validate(binary, config)
    assert done.returncode == 0, done.stdout + done.stderr
