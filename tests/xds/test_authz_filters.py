"""The authorization filters of a proxy, in evaluation order, and CUSTOM providers as ext_authz
(:mod:`sailmesh.xds.authz.filters`, :mod:`sailmesh.xds.authz.ext_authz`)."""

from __future__ import annotations

from typing import Any

import pytest
import xds_fixtures as fx
from authz_cases import (
    CUSTOM,
    CUSTOM_GRPC,
    CUSTOM_MISSING_SERVICE,
    CUSTOM_TWO_PROVIDERS,
    CUSTOM_UNKNOWN,
    DENY_AND_ALLOW,
    EXT_AUTHZ,
    world,
)
from google.protobuf import json_format

from config_support.manifests import manifests
from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.xds.authz import ext_authz
from sailmesh.xds.authz.filters import http_filters, network_filters


def summary(filters: list[Any]) -> list[tuple[str, str]]:
    """(filter name, RBAC action or "shadow") of each filter."""
    out = []
    for f in filters:
        config = json_format.MessageToDict(f.typed_config, preserving_proto_field_name=True)
        if "rules" in config:
            out.append((f.name, config["rules"].get("action", "ALLOW")))
        elif "shadow_rules" in config:
            out.append((f.name, "shadow"))
        else:
            out.append((f.name, "-"))
    return out


def config_of(f: Any) -> dict[str, Any]:
    return dict(json_format.MessageToDict(f.typed_config, preserving_proto_field_name=True))


PRODUCTPAGE = fx.productpage_proxy()
CUSTOM_AND_OTHERS = CUSTOM + "---\n" + DENY_AND_ALLOW


def test_http_filters_run_custom_audit_deny_allow_in_that_order() -> None:
    found = summary(http_filters(world(CUSTOM_AND_OTHERS), PRODUCTPAGE))
    assert found == [
        ("envoy.filters.http.rbac", "shadow"),
        ("envoy.filters.http.ext_authz", "-"),
        ("envoy.filters.http.rbac", "LOG"),
        ("envoy.filters.http.rbac", "DENY"),
        ("envoy.filters.http.rbac", "ALLOW"),
    ]


def test_network_filters_skip_http_providers_and_keep_the_rest() -> None:
    found = summary(network_filters(world(CUSTOM_AND_OTHERS), PRODUCTPAGE))
    assert found == [
        ("envoy.filters.network.rbac", "LOG"),
        ("envoy.filters.network.rbac", "DENY"),
        ("envoy.filters.network.rbac", "ALLOW"),
    ]
    grpc = summary(network_filters(world(CUSTOM_GRPC), PRODUCTPAGE))
    assert grpc == [
        ("envoy.filters.network.rbac", "shadow"),
        ("envoy.filters.network.ext_authz", "-"),
    ]


def test_no_policy_no_filter() -> None:
    assert http_filters(world(), PRODUCTPAGE) == [] and network_filters(world(), PRODUCTPAGE) == []


@pytest.mark.parametrize("text", [CUSTOM_UNKNOWN, CUSTOM_MISSING_SERVICE, CUSTOM_TWO_PROVIDERS])
def test_custom_rules_that_cannot_be_checked_deny(text: str) -> None:
    for found in (
        http_filters(world(text), PRODUCTPAGE),
        network_filters(world(text), PRODUCTPAGE),
    ):
        assert {action for _, action in summary(found)} == {"DENY"}
        for f in found:
            assert all(
                n.endswith("-deny-due-to-bad-CUSTOM-action")
                for n in config_of(f)["rules"]["policies"]
            )


def test_the_shadow_rules_mark_what_enables_ext_authz() -> None:
    shadow, check = http_filters(world(CUSTOM), PRODUCTPAGE)
    rbac = config_of(shadow)
    assert rbac["shadow_rules_stat_prefix"] == "istio_ext_authz_"
    assert rbac["shadow_rules"]["action"] == "DENY"
    assert sorted(rbac["shadow_rules"]["policies"]) == [
        "istio-ext-authz-ns[default]-policy[ext-authz]-rule[0]",
        "istio-ext-authz-ns[default]-policy[ext-authz]-rule[1]",
    ]
    assert config_of(check)["filter_enabled_metadata"] == {
        "filter": "envoy.filters.http.rbac",
        "path": [{"key": "istio_ext_authz_shadow_effective_policy_id"}],
        "value": {"string_match": {"prefix": "istio-ext-authz"}},
    }


def test_an_http_provider_becomes_an_http_service() -> None:
    _, check = http_filters(world(CUSTOM), PRODUCTPAGE)
    config = config_of(check)
    header = {"exact": "x-ext-authz-check-result", "ignore_case": True}
    assert config["http_service"] == {
        "server_uri": {
            "uri": "http://ext-authz.authz.svc.cluster.local",
            "cluster": "outbound|8000||ext-authz.authz.svc.cluster.local",
            "timeout": "2s",
        },
        "path_prefix": "/check",
        "authorization_request": {"headers_to_add": [{"key": "x-from", "value": "sailmesh"}]},
        "authorization_response": {
            "allowed_upstream_headers": {"patterns": [header]},
            "allowed_client_headers": {"patterns": [header]},
            "allowed_client_headers_on_success": {"patterns": [header]},
        },
    }
    assert config["allowed_headers"] == {
        "patterns": [{"exact": "x-ext-authz", "ignore_case": True}]
    }
    assert config["status_on_error"] == {"code": "ServiceUnavailable"}
    assert config["with_request_body"] == {"max_request_bytes": 4096, "allow_partial_message": True}
    assert config["transport_api_version"] == "V3" and "failure_mode_allow" not in config


def test_a_grpc_provider_becomes_a_grpc_service_on_http_and_tcp() -> None:
    snapshot = world(CUSTOM_GRPC)
    _, check = http_filters(snapshot, PRODUCTPAGE)
    _, tcp_check = network_filters(snapshot, PRODUCTPAGE)
    service = {
        "envoy_grpc": {
            "cluster_name": "outbound|9000||ext-authz.authz.svc.cluster.local",
            "authority": "outbound_.9000_._.ext-authz.authz.svc.cluster.local",
        },
        "timeout": "600s",
    }
    assert config_of(check)["grpc_service"] == service
    assert config_of(check)["failure_mode_allow"] is True
    tcp = config_of(tcp_check)
    assert tcp["grpc_service"] == service and tcp["stat_prefix"] == "tcp."
    assert tcp["filter_enabled_metadata"]["filter"] == "envoy.filters.network.rbac"


def test_provider_services_resolve_by_hostname_and_namespace() -> None:
    snapshot = world()
    http_provider = snapshot.mesh.ext_authz_provider("http-authz")
    assert http_provider is not None
    assert ext_authz.provider_host(http_provider, snapshot) == EXT_AUTHZ.hostname
    short = MeshConfig.from_dict(
        {"extensionProviders": [{"name": "s", "envoyExtAuthzGrpc": {"service": "authz/ext-authz", "port": 9000}},
                                {"name": "w", "envoyExtAuthzGrpc": {"service": "default/ext-authz.authz.svc.cluster.local", "port": 9000}}]}
    )  # fmt: skip
    s, w = short.extension_providers
    assert ext_authz.provider_host(s, snapshot) == EXT_AUTHZ.hostname
    assert ext_authz.provider_host(w, snapshot) is None  # the service is not in namespace default


AUDIT_ONLY = manifests("""
AuthorizationPolicy default/audit
  action: AUDIT
  rules: [{to: [{operation: {methods: [DELETE]}}]}]
""")


def test_audit_policies_add_an_audit_log_of_marked_requests_only() -> None:
    from sailmesh.typeurls import LISTENER
    from sailmesh.xds.translate import translate

    listener = translate(PRODUCTPAGE, world(AUDIT_ONLY))[LISTENER]["virtualInbound"]
    text = json_format.MessageToJson(listener)
    assert text.count("] AUDIT ") == len(listener.filter_chains) - 1  # all but the blackhole
    assert '"filter": "envoy.common"' in text and '"boolMatch": true' in text
    plain = json_format.MessageToJson(translate(PRODUCTPAGE, world())[LISTENER]["virtualInbound"])
    assert "AUDIT" not in plain


GATEWAY_TCP = manifests("""
Gateway istio-system/tcp
  selector: {istio: ingressgateway}
  servers: [{port: {number: 31400, name: tcp, protocol: TCP}, hosts: ["*"]}]
---
VirtualService default/tcp
  hosts: ["*"]
  gateways: [istio-system/tcp]
  tcp: [{route: [{destination: {host: productpage-db, port: {number: 3306}}}]}]
---
AuthorizationPolicy istio-system/ingress-tcp
  selector: {matchLabels: {istio: ingressgateway}}
  action: DENY
  rules: [{from: [{source: {ipBlocks: [192.0.2.0/24]}}]}]
""")


def test_gateway_tcp_servers_are_authorized_before_the_tcp_proxy() -> None:
    from authz_cases import ROUTER

    from sailmesh.typeurls import LISTENER
    from sailmesh.xds.translate import translate

    listener = translate(ROUTER, world(GATEWAY_TCP))[LISTENER]["0.0.0.0_31400"]
    (chain,) = listener.filter_chains
    assert [f.name for f in chain.filters] == [
        "envoy.filters.network.rbac",
        "envoy.filters.network.tcp_proxy",
    ]
    assert config_of(chain.filters[0])["rules"]["action"] == "DENY"
