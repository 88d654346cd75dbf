"""EnvoyFilter table: every ``applyTo`` x operation Istio defines for it, on bookinfo (productpage's
sidecar) and an ingress gateway, checked two ways: an explicit expectation on a compact view of
the patched resources, and the view kept as a golden file
(``golden/envoyfilter_table.json``, refreshed with ``SAILMESH_UPDATE_GOLDEN=1``). Operations
Istio ignores for an ``applyTo`` (e.g. ADD on ROUTE_CONFIGURATION, which IST0153 reports) leave
the resources as they were."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from envoyfilter_world import HCM, envoy_filter, gateway, sidecar, translated, view

GOLDEN = Path(__file__).parent / "golden" / "envoyfilter_table.json"
HEADER_MUTATION = {
    "name": "envoy.filters.http.header_mutation",
    "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
        "mutations": {
            "response_mutations": [{"append": {"header": {"key": "x-patched", "value": "1"}}}]
        },
    },
}
ROUTER = "envoy.filters.http.router"
CORS = "envoy.filters.http.cors"
FAULT = "envoy.filters.http.fault"
#: Counts gRPC messages for the stats loggers; last before the router.
GRPC = "envoy.filters.http.grpc_stats"
ORIGINAL_DST = "envoy.filters.listener.original_dst"
TLS_INSPECTOR = {
    "name": "envoy.filters.listener.tls_inspector",
    "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"
    },
}
TCP_PROXY = {
    "name": "envoy.filters.network.tcp_proxy",
    "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
        "stat_prefix": "extra",
        "cluster": "BlackHoleCluster",
    },
}
CONN_LIMIT = {
    "name": "envoy.filters.network.connection_limit",
    "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit",
        "stat_prefix": "limit",
        "max_connections": 100,
    },
}
INBOUND_HCM = {
    "context": "SIDECAR_INBOUND",
    "listener": {"filterChain": {"filter": {"name": HCM}}},
}
OUTBOUND_9080 = {
    "context": "SIDECAR_OUTBOUND",
    "listener": {"portNumber": 9080, "filterChain": {"filter": {"name": HCM}}},
}
REVIEWS_VHOST = {
    "context": "SIDECAR_OUTBOUND",
    "routeConfiguration": {
        "portNumber": 9080,
        "vhost": {"name": "reviews.default.svc.cluster.local:9080"},
    },
}
GW_ROUTE = {
    "context": "GATEWAY",
    "routeConfiguration": {
        "portNumber": 8080,
        "vhost": {"name": "*:8080", "route": {"name": "old"}},
    },
}
EXTRA_ROUTE = {"name": "extra", "match": {"prefix": "/extra"}, "direct_response": {"status": 204}}


def sub(name: str) -> dict[str, Any]:
    return {
        "context": "SIDECAR_OUTBOUND",
        "listener": {
            "portNumber": 9080,
            "filterChain": {"filter": {"name": HCM, "subFilter": {"name": name}}},
        },
    }


View = dict[str, Any]


def chain(v: View, listener: str, name: str) -> dict[str, Any]:
    (found,) = [c for c in v["listeners"][listener]["chains"] if c["name"] == name]
    return found


def outbound_http(v: View) -> list[str]:
    return list(chain(v, "0.0.0.0_9080", "0.0.0.0_9080")["http"])


def inbound_chain(v: View) -> dict[str, Any]:
    return chain(v, "virtualInbound", "0.0.0.0_9080")


def reviews_routes(v: View) -> list[str]:
    return list(v["routes"]["9080"]["reviews.default.svc.cluster.local:9080"])


def gw_routes(v: View) -> list[str]:
    return list(v["routes"]["http.8080"]["*:8080"])


Case = tuple[str, str, str, dict[str, Any], dict[str, Any] | None, Callable[[View, View], bool]]
L_ADD = {
    "name": "extra_9999",
    "address": {"socket_address": {"address": "0.0.0.0", "port_value": 9999}},
    "filter_chains": [{"filters": [TCP_PROXY]}],
}

CASES: dict[str, tuple[str, Case]] = {
    # --- LISTENER: ADD, REMOVE, MERGE --------------------------------------------------------
    "listener_add": (
        "sidecar",
        (
            "LISTENER",
            "ADD",
            {"context": "SIDECAR_OUTBOUND"},
            L_ADD,
            lambda v, b: v["listeners"]["extra_9999"]["port"] == 9999,
        ),
    ),
    "listener_remove": (
        "sidecar",
        (
            "LISTENER",
            "REMOVE",
            {"listener": {"portNumber": 9080}},
            None,
            lambda v, b: (
                "0.0.0.0_9080" not in v["listeners"] and "virtualInbound" in v["listeners"]
            ),
        ),
    ),
    "listener_merge": (
        "sidecar",
        (
            "LISTENER",
            "MERGE",
            {"listener": {"name": "virtualOutbound"}},
            {"listener_filters": [TLS_INSPECTOR]},
            lambda v, b: (
                v["listeners"]["virtualOutbound"]["listener_filters"] == [TLS_INSPECTOR["name"]]
            ),
        ),
    ),
    "listener_merge_and_replace_list": (
        "sidecar",
        (
            "LISTENER",
            "MERGE_AND_REPLACE_LIST",
            {"listener": {"name": "virtualInbound"}},
            {"listener_filters": [TLS_INSPECTOR]},
            lambda v, b: (
                v["listeners"]["virtualInbound"]["listener_filters"] == [TLS_INSPECTOR["name"]]
            ),
        ),
    ),
    "cluster_merge_and_replace_list": (
        "sidecar",
        (
            "CLUSTER",
            "MERGE_AND_REPLACE_LIST",
            {"cluster": {"name": "outbound|9080|v1|reviews.default.svc.cluster.local"}},
            {"connect_timeout": "2s"},
            lambda v, b: (
                v["clusters"]["outbound|9080|v1|reviews.default.svc.cluster.local"] == "2s"
            ),
        ),
    ),
    # --- LISTENER_FILTER: ADD, INSERT_FIRST/BEFORE/AFTER, REPLACE, REMOVE ------------------------
    "listener_filter_add": (
        "sidecar",
        (
            "LISTENER_FILTER",
            "ADD",
            {"context": "SIDECAR_INBOUND"},
            TLS_INSPECTOR,
            lambda v, b: (
                v["listeners"]["virtualInbound"]["listener_filters"]
                == [ORIGINAL_DST, TLS_INSPECTOR["name"]]
            ),
        ),
    ),
    "listener_filter_insert_first": (
        "sidecar",
        (
            "LISTENER_FILTER",
            "INSERT_FIRST",
            {"context": "SIDECAR_INBOUND"},
            TLS_INSPECTOR,
            lambda v, b: (
                v["listeners"]["virtualInbound"]["listener_filters"]
                == [TLS_INSPECTOR["name"], ORIGINAL_DST]
            ),
        ),
    ),
    "listener_filter_insert_before": (
        "sidecar",
        (
            "LISTENER_FILTER",
            "INSERT_BEFORE",
            {"context": "SIDECAR_INBOUND", "listener": {"listenerFilter": ORIGINAL_DST}},
            TLS_INSPECTOR,
            lambda v, b: (
                v["listeners"]["virtualInbound"]["listener_filters"]
                == [TLS_INSPECTOR["name"], ORIGINAL_DST]
            ),
        ),
    ),
    "listener_filter_insert_after": (
        "sidecar",
        (
            "LISTENER_FILTER",
            "INSERT_AFTER",
            {"context": "SIDECAR_INBOUND", "listener": {"listenerFilter": ORIGINAL_DST}},
            TLS_INSPECTOR,
            lambda v, b: (
                v["listeners"]["virtualInbound"]["listener_filters"]
                == [ORIGINAL_DST, TLS_INSPECTOR["name"]]
            ),
        ),
    ),
    "listener_filter_replace": (
        "sidecar",
        (
            "LISTENER_FILTER",
            "REPLACE",
            {"context": "SIDECAR_INBOUND", "listener": {"listenerFilter": ORIGINAL_DST}},
            TLS_INSPECTOR,
            lambda v, b: (
                v["listeners"]["virtualInbound"]["listener_filters"] == [TLS_INSPECTOR["name"]]
            ),
        ),
    ),
    "listener_filter_remove": (
        "sidecar",
        (
            "LISTENER_FILTER",
            "REMOVE",
            {"context": "SIDECAR_INBOUND", "listener": {"listenerFilter": ORIGINAL_DST}},
            None,
            lambda v, b: v["listeners"]["virtualInbound"]["listener_filters"] == [],
        ),
    ),
    # --- FILTER_CHAIN: ADD, REMOVE, MERGE ----------------------------------------------------
    "filter_chain_add": (
        "sidecar",
        (
            "FILTER_CHAIN",
            "ADD",
            {"context": "SIDECAR_OUTBOUND", "listener": {"name": "virtualOutbound"}},
            {
                "name": "extra-chain",
                "filter_chain_match": {"destination_port": 7777},
                "filters": [TCP_PROXY],
            },
            lambda v, b: (
                [c["name"] for c in v["listeners"]["virtualOutbound"]["chains"]]
                == ["PassthroughFilterChain", "extra-chain"]
            ),
        ),
    ),
    "filter_chain_remove": (
        "sidecar",
        (
            "FILTER_CHAIN",
            "REMOVE",
            {
                "context": "SIDECAR_INBOUND",
                "listener": {"filterChain": {"name": "InboundPassthroughFilterChain"}},
            },
            None,
            lambda v, b: (
                "InboundPassthroughFilterChain"
                not in [c["name"] for c in v["listeners"]["virtualInbound"]["chains"]]
            ),
        ),
    ),
    "filter_chain_merge": (
        "sidecar",
        (
            "FILTER_CHAIN",
            "MERGE",
            {"context": "SIDECAR_INBOUND", "listener": {"portNumber": 9080}},
            {"name": "renamed-9080"},
            lambda v, b: (
                "renamed-9080" in [c["name"] for c in v["listeners"]["virtualInbound"]["chains"]]
            ),
        ),
    ),
    # --- NETWORK_FILTER: all seven ------------------------------------------------------------
    "network_filter_add": (
        "sidecar",
        (
            "NETWORK_FILTER",
            "ADD",
            {"context": "SIDECAR_OUTBOUND", "listener": {"name": "virtualOutbound"}},
            CONN_LIMIT,
            lambda v, b: (
                chain(v, "virtualOutbound", "PassthroughFilterChain")["filters"]
                == [TCP_PROXY["name"], CONN_LIMIT["name"]]
            ),
        ),
    ),
    "network_filter_insert_first": (
        "sidecar",
        (
            "NETWORK_FILTER",
            "INSERT_FIRST",
            {"context": "SIDECAR_OUTBOUND", "listener": {"name": "virtualOutbound"}},
            CONN_LIMIT,
            lambda v, b: (
                chain(v, "virtualOutbound", "PassthroughFilterChain")["filters"]
                == [CONN_LIMIT["name"], TCP_PROXY["name"]]
            ),
        ),
    ),
    "network_filter_insert_before": (
        "sidecar",
        (
            "NETWORK_FILTER",
            "INSERT_BEFORE",
            OUTBOUND_9080,
            CONN_LIMIT,
            lambda v, b: (
                chain(v, "0.0.0.0_9080", "0.0.0.0_9080")["filters"] == [CONN_LIMIT["name"], HCM]
            ),
        ),
    ),
    "network_filter_insert_after": (
        "sidecar",
        (
            "NETWORK_FILTER",
            "INSERT_AFTER",
            {
                "context": "SIDECAR_OUTBOUND",
                "listener": {
                    "name": "virtualOutbound",
                    "filterChain": {"filter": {"name": TCP_PROXY["name"]}},
                },
            },
            CONN_LIMIT,
            lambda v, b: (
                chain(v, "virtualOutbound", "PassthroughFilterChain")["filters"]
                == [TCP_PROXY["name"], CONN_LIMIT["name"]]
            ),
        ),
    ),
    "network_filter_replace": (
        "sidecar",
        (
            "NETWORK_FILTER",
            "REPLACE",
            {
                "context": "SIDECAR_OUTBOUND",
                "listener": {
                    "name": "virtualOutbound",
                    "filterChain": {"filter": {"name": TCP_PROXY["name"]}},
                },
            },
            CONN_LIMIT,
            lambda v, b: (
                chain(v, "virtualOutbound", "PassthroughFilterChain")["filters"]
                == [CONN_LIMIT["name"]]
            ),
        ),
    ),
    "network_filter_remove": (
        "sidecar",
        (
            "NETWORK_FILTER",
            "REMOVE",
            {
                "context": "SIDECAR_INBOUND",
                "listener": {
                    "filterChain": {
                        "name": "InboundPassthroughFilterChain",
                        "filter": {"name": TCP_PROXY["name"]},
                    }
                },
            },
            None,
            lambda v, b: (
                chain(v, "virtualInbound", "InboundPassthroughFilterChain")["filters"] == []
            ),
        ),
    ),
    "network_filter_merge": (
        "sidecar",
        (
            "NETWORK_FILTER",
            "MERGE",
            {
                "context": "SIDECAR_OUTBOUND",
                "listener": {
                    "name": "virtualOutbound",
                    "filterChain": {"filter": {"name": TCP_PROXY["name"]}},
                },
            },
            {
                "name": TCP_PROXY["name"],
                "typed_config": {"@type": TCP_PROXY["typed_config"]["@type"], "idle_timeout": "7s"},
            },
            lambda v, b: (
                chain(v, "virtualOutbound", "PassthroughFilterChain")["filters"]
                == [TCP_PROXY["name"]]
            ),
        ),
    ),
    # --- HTTP_FILTER: all seven ----------------------------------------------------------------
    "http_filter_add": (
        "sidecar",
        (
            "HTTP_FILTER",
            "ADD",
            OUTBOUND_9080,
            HEADER_MUTATION,
            lambda v, b: outbound_http(v) == [FAULT, CORS, GRPC, ROUTER, HEADER_MUTATION["name"]],
        ),
    ),
    "http_filter_insert_first": (
        "sidecar",
        (
            "HTTP_FILTER",
            "INSERT_FIRST",
            OUTBOUND_9080,
            HEADER_MUTATION,
            lambda v, b: outbound_http(v) == [HEADER_MUTATION["name"], FAULT, CORS, GRPC, ROUTER],
        ),
    ),
    "http_filter_insert_before": (
        "sidecar",
        (
            "HTTP_FILTER",
            "INSERT_BEFORE",
            sub(ROUTER),
            HEADER_MUTATION,
            lambda v, b: outbound_http(v) == [FAULT, CORS, GRPC, HEADER_MUTATION["name"], ROUTER],
        ),
    ),
    "http_filter_insert_after": (
        "sidecar",
        (
            "HTTP_FILTER",
            "INSERT_AFTER",
            sub(FAULT),
            HEADER_MUTATION,
            lambda v, b: outbound_http(v) == [FAULT, HEADER_MUTATION["name"], CORS, GRPC, ROUTER],
        ),
    ),
    "http_filter_replace": (
        "sidecar",
        (
            "HTTP_FILTER",
            "REPLACE",
            sub(CORS),
            HEADER_MUTATION,
            lambda v, b: outbound_http(v) == [FAULT, HEADER_MUTATION["name"], GRPC, ROUTER],
        ),
    ),
    "http_filter_remove": (
        "sidecar",
        (
            "HTTP_FILTER",
            "REMOVE",
            sub(FAULT),
            None,
            lambda v, b: outbound_http(v) == [CORS, GRPC, ROUTER],
        ),
    ),
    "http_filter_merge": (
        "sidecar",
        (
            "HTTP_FILTER",
            "MERGE",
            sub(ROUTER),
            {
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
                    "suppress_envoy_headers": True,
                }
            },
            lambda v, b: outbound_http(v) == [FAULT, CORS, GRPC, ROUTER],
        ),
    ),
    "http_filter_inbound_insert_before": (
        "sidecar",
        (
            "HTTP_FILTER",
            "INSERT_BEFORE",
            INBOUND_HCM,
            HEADER_MUTATION,
            lambda v, b: (
                inbound_chain(v)["http"] == [HEADER_MUTATION["name"], GRPC, ROUTER]
                and outbound_http(v) == outbound_http(b)
            ),
        ),
    ),
    "http_filter_gateway_insert_before": (
        "gateway",
        (
            "HTTP_FILTER",
            "INSERT_BEFORE",
            {
                "context": "GATEWAY",
                "listener": {
                    "portNumber": 8080,
                    "filterChain": {"filter": {"name": HCM, "subFilter": {"name": ROUTER}}},
                },
            },
            HEADER_MUTATION,
            lambda v, b: (
                v["listeners"]["0.0.0.0_8080"]["chains"][0]["http"]
                == [FAULT, CORS, GRPC, HEADER_MUTATION["name"], ROUTER]
            ),
        ),
    ),
    # --- ROUTE_CONFIGURATION: MERGE (ADD and REMOVE do nothing, IST0153/0154) ------------------
    "route_configuration_merge": (
        "sidecar",
        (
            "ROUTE_CONFIGURATION",
            "MERGE",
            {"context": "SIDECAR_OUTBOUND", "routeConfiguration": {"portNumber": 9080}},
            {
                "virtual_hosts": [
                    {"name": "merged", "domains": ["merged.example"], "routes": [EXTRA_ROUTE]}
                ]
            },
            lambda v, b: v["routes"]["9080"]["merged"] == ["extra:direct_response"],
        ),
    ),
    "route_configuration_add_is_ignored": (
        "sidecar",
        (
            "ROUTE_CONFIGURATION",
            "ADD",
            {"context": "SIDECAR_OUTBOUND"},
            {"name": "x"},
            lambda v, b: v == b,
        ),
    ),
    "route_configuration_remove_is_ignored": (
        "sidecar",
        (
            "ROUTE_CONFIGURATION",
            "REMOVE",
            {"context": "SIDECAR_OUTBOUND"},
            None,
            lambda v, b: v == b,
        ),
    ),
    "route_configuration_inbound_merge": (
        "sidecar",
        (
            "ROUTE_CONFIGURATION",
            "MERGE",
            {"context": "SIDECAR_INBOUND", "routeConfiguration": {"portNumber": 9080}},
            {
                "virtual_hosts": [
                    {"name": "merged", "domains": ["merged.example"], "routes": [EXTRA_ROUTE]}
                ]
            },
            lambda v, b: (
                inbound_chain(v)["inline_routes"]["merged"] == ["extra:direct_response"]
                and v["routes"] == b["routes"]
            ),
        ),
    ),
    # --- VIRTUAL_HOST: ADD, REMOVE, MERGE (REPLACE is rejected by validation, as Istio's) ------
    "virtual_host_add": (
        "sidecar",
        (
            "VIRTUAL_HOST",
            "ADD",
            {"context": "SIDECAR_OUTBOUND", "routeConfiguration": {"portNumber": 9080}},
            {"name": "added", "domains": ["added.example"], "routes": [EXTRA_ROUTE]},
            lambda v, b: list(v["routes"]["9080"])[-1] == "added",
        ),
    ),
    "virtual_host_remove": (
        "sidecar",
        (
            "VIRTUAL_HOST",
            "REMOVE",
            REVIEWS_VHOST,
            None,
            lambda v, b: (
                "reviews.default.svc.cluster.local:9080" not in v["routes"]["9080"]
                and len(v["routes"]["9080"]) == len(b["routes"]["9080"]) - 1
            ),
        ),
    ),
    "virtual_host_merge": (
        "sidecar",
        (
            "VIRTUAL_HOST",
            "MERGE",
            REVIEWS_VHOST,
            {"routes": [EXTRA_ROUTE]},
            lambda v, b: reviews_routes(v) == ["-:route", "extra:direct_response"],
        ),
    ),
    # --- HTTP_ROUTE: MERGE, REMOVE, ADD, INSERT_BEFORE/AFTER/FIRST ------------------------------
    "http_route_merge": (
        "gateway",
        (
            "HTTP_ROUTE",
            "MERGE",
            GW_ROUTE,
            {"name": "old-merged"},
            lambda v, b: gw_routes(v) == ["productpage:route", "old-merged:redirect"],
        ),
    ),
    "http_route_merge_by_action": (
        "gateway",
        (
            "HTTP_ROUTE",
            "MERGE",
            {"context": "GATEWAY", "routeConfiguration": {"vhost": {"route": {"action": "ROUTE"}}}},
            {"name": "routed"},
            lambda v, b: gw_routes(v) == ["routed:route", "old:redirect"],
        ),
    ),
    "http_route_remove": (
        "gateway",
        (
            "HTTP_ROUTE",
            "REMOVE",
            GW_ROUTE,
            None,
            lambda v, b: gw_routes(v) == ["productpage:route"],
        ),
    ),
    "http_route_add": (
        "gateway",
        (
            "HTTP_ROUTE",
            "ADD",
            {"context": "GATEWAY", "routeConfiguration": {"vhost": {"name": "*:8080"}}},
            EXTRA_ROUTE,
            lambda v, b: (
                gw_routes(v) == ["productpage:route", "old:redirect", "extra:direct_response"]
            ),
        ),
    ),
    "http_route_insert_before": (
        "gateway",
        (
            "HTTP_ROUTE",
            "INSERT_BEFORE",
            GW_ROUTE,
            EXTRA_ROUTE,
            lambda v, b: (
                gw_routes(v) == ["productpage:route", "extra:direct_response", "old:redirect"]
            ),
        ),
    ),
    "http_route_insert_after": (
        "gateway",
        (
            "HTTP_ROUTE",
            "INSERT_AFTER",
            {
                "context": "GATEWAY",
                "routeConfiguration": {
                    "vhost": {"name": "*:8080", "route": {"name": "productpage"}}
                },
            },
            EXTRA_ROUTE,
            lambda v, b: (
                gw_routes(v) == ["productpage:route", "extra:direct_response", "old:redirect"]
            ),
        ),
    ),
    "http_route_insert_first": (
        "gateway",
        (
            "HTTP_ROUTE",
            "INSERT_FIRST",
            GW_ROUTE,
            EXTRA_ROUTE,
            lambda v, b: (
                gw_routes(v) == ["extra:direct_response", "productpage:route", "old:redirect"]
            ),
        ),
    ),
    # --- CLUSTER: ADD, REMOVE, MERGE --------------------------------------------------------------
    "cluster_add": (
        "sidecar",
        (
            "CLUSTER",
            "ADD",
            {"context": "SIDECAR_OUTBOUND"},
            {
                "name": "extra_cluster",
                "type": "STATIC",
                "connect_timeout": "3s",
                "load_assignment": {"cluster_name": "extra_cluster"},
            },
            lambda v, b: v["clusters"]["extra_cluster"] == "3s",
        ),
    ),
    "cluster_remove": (
        "sidecar",
        (
            "CLUSTER",
            "REMOVE",
            {
                "context": "SIDECAR_OUTBOUND",
                "cluster": {"service": "ratings.default.svc.cluster.local", "subset": "v2"},
            },
            None,
            lambda v, b: (
                "outbound|9080|v2|ratings.default.svc.cluster.local" not in v["clusters"]
                and "outbound|9080|v1|ratings.default.svc.cluster.local" in v["clusters"]
            ),
        ),
    ),
    "cluster_merge": (
        "sidecar",
        (
            "CLUSTER",
            "MERGE",
            {
                "context": "SIDECAR_OUTBOUND",
                "cluster": {"portNumber": 9080, "service": "reviews.default.svc.cluster.local"},
            },
            {"connect_timeout": "2.5s"},
            lambda v, b: (
                all(t == "2.500s" for n, t in v["clusters"].items() if "reviews" in n)
                and v["clusters"]["inbound|9080||"] == "10s"
            ),
        ),
    ),
    "cluster_merge_inbound": (
        "sidecar",
        (
            "CLUSTER",
            "MERGE",
            {"context": "SIDECAR_INBOUND", "cluster": {"portNumber": 9080}},
            {"connect_timeout": "1s"},
            lambda v, b: (
                v["clusters"]["inbound|9080||"] == "1s"
                and v["clusters"]["outbound|9080||reviews.default.svc.cluster.local"] == "10s"
            ),
        ),
    ),
    # --- EXTENSION_CONFIG: ADD (resolved inline into filters discovering it) ----------------------
    "extension_config_add": (
        "sidecar",
        (
            "EXTENSION_CONFIG",
            "ADD",
            {"context": "SIDECAR_OUTBOUND"},
            {"name": "my-header", "typed_config": HEADER_MUTATION["typed_config"]},
            lambda v, b: v == b,
        ),
    ),
}


def _spec(
    apply_to: str, op: str, match: dict[str, Any], value: dict[str, Any] | None
) -> dict[str, Any]:
    patch: dict[str, Any] = {"operation": op}
    if value is not None:
        patch["value"] = value
    return {"configPatches": [{"applyTo": apply_to, "match": match, "patch": patch}]}


def _proxy(which: str) -> Any:
    return sidecar() if which == "sidecar" else gateway()


def case_view(name: str) -> tuple[View, View]:
    which, (apply_to, op, match, value, _check) = CASES[name]
    spec = _spec(apply_to, op, match, value)
    namespace = "default"
    if which == "gateway":  # from the root namespace, selecting the gateway pods by label
        spec["workloadSelector"] = {"labels": {"istio": "ingressgateway"}}
        namespace = "istio-system"
    before = view(translated(_proxy(which)))
    after = view(translated(_proxy(which), envoy_filter(spec, namespace=namespace)))
    return before, after


@pytest.mark.parametrize("name", sorted(CASES))
def test_patch(name: str) -> None:
    before, after = case_view(name)
    check = CASES[name][1][4]
    assert check(after, before), json.dumps(after, indent=1)[:4000]


def test_every_apply_to_and_operation_istio_defines_is_covered() -> None:
    covered = {(c[0], c[1]) for _, c in CASES.values()}
    ordered = {"ADD", "INSERT_FIRST", "INSERT_BEFORE", "INSERT_AFTER", "REPLACE", "REMOVE"}
    expected = {
        "LISTENER": {"ADD", "REMOVE", "MERGE", "MERGE_AND_REPLACE_LIST"},
        "LISTENER_FILTER": ordered,
        "FILTER_CHAIN": {"ADD", "REMOVE", "MERGE"},
        "NETWORK_FILTER": ordered | {"MERGE"},
        "HTTP_FILTER": ordered | {"MERGE"},
        "ROUTE_CONFIGURATION": {"MERGE", "ADD", "REMOVE"},
        "VIRTUAL_HOST": {"ADD", "REMOVE", "MERGE"},
        "HTTP_ROUTE": {"MERGE", "REMOVE", "ADD", "INSERT_BEFORE", "INSERT_AFTER", "INSERT_FIRST"},
        "CLUSTER": {"ADD", "REMOVE", "MERGE", "MERGE_AND_REPLACE_LIST"},
        "EXTENSION_CONFIG": {"ADD"},
    }
    missing = {(a, o) for a, ops in expected.items() for o in ops} - covered
    assert not missing, sorted(missing)


def test_golden_views() -> None:
    views = {name: case_view(name)[1] for name in sorted(CASES)}
    text = json.dumps(views, indent=1, sort_keys=True) + "\n"
    if os.environ.get("SAILMESH_UPDATE_GOLDEN") == "1" or not GOLDEN.exists():
        GOLDEN.write_text(text)
        if os.environ.get("SAILMESH_UPDATE_GOLDEN") != "1":
            pytest.fail(f"golden file {GOLDEN.name} was missing and has been written")
    assert json.loads(GOLDEN.read_text()) == views, (
        f"{GOLDEN.name} differs; rerun with SAILMESH_UPDATE_GOLDEN=1 if the change is intended"
    )
