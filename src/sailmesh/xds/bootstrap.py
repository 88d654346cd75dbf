"""Envoy bootstrap documents for sidecars and gateways (a pure function; dicts ready for JSON).

The bootstrap names the node, points ADS (state of the world or delta) at the control plane
through the static ``xds-grpc`` cluster (TCP or a Unix socket), puts the admin API on a
local address and carries Istio's stats tag rules, so names such as
``outbound|9080|v1|reviews.default.svc.cluster.local`` survive as a ``cluster_name`` tag.
With ``sds_socket`` it also has Istio's static ``sds-grpc`` cluster: the pod's node agent on a
Unix socket, serving the ``default`` and ``ROOTCA`` secrets (:mod:`sailmesh.xds.secrets`), and
the static ``sds-prefetch`` cluster, which carries no traffic (it has no endpoint) and exists so
that Envoy asks for both secrets at start: its initialization (and so its ``/ready``) waits for
the workload identity, the app starts only once its sidecar holds a certificate, and
``sailctl proxy-config secret`` shows the identity even before any listener or cluster uses it.
With ``metrics`` it has the 15090/15020 listeners (:mod:`sailmesh.xds.bootstrap_metrics`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sailmesh.registry.locality import locality_from_labels, split_locality
from sailmesh.xds.bootstrap_metrics import MetricsPorts, histogram_buckets, metrics_resources

XDS_CLUSTER = "xds-grpc"
SDS_CLUSTER = "sds-grpc"
SDS_PREFETCH_CLUSTER = "sds-prefetch"
#: Istio's SDS secret names: the workload's certificate and key, and the trust bundle.
DEFAULT_SECRET = "default"
ROOT_SECRET = "ROOTCA"
TLS_TRANSPORT_SOCKET = "envoy.transport_sockets.tls"
UPSTREAM_TLS_CONTEXT = "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"
HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

# Istio's tools/packaging/common/envoy_bootstrap.json, in its order; ``extra_stat_tags``
# are inserted where Istio puts its extraStatTags.
_ISTIO_STATS_TAGS: tuple[tuple[str, str], ...] = (
    ("cluster_name", r"^cluster\.((.+?(\..+?\.svc\.cluster\.local)?)\.)"),
    ("tcp_prefix", r"^tcp\.((.*?)\.)\w+?$"),
    ("response_code", r"_rq(_(\d{3}))$"),
    ("response_code_class", r"_rq(_(\dxx))$"),
    (
        "http_conn_manager_listener_prefix",
        r"^listener(?=\.).*?\.http\.(((?:[_.[:digit:]]*|[_\[\]aAbBcCdDeEfF[:digit:]]*))\.)",
    ),
    ("http_conn_manager_prefix", r"^http\.(((?:[_.[:digit:]]*|[_\[\]aAbBcCdDeEfF[:digit:]]*))\.)"),
    ("listener_address", r"^listener\.(((?:[_.[:digit:]]*|[_\[\]aAbBcCdDeEfF[:digit:]]*))\.)"),
    ("mongo_prefix", r"^mongo\.(.+?)\.(collection|cmd|cx_|op_|delays_|decoding_)(.*?)$"),
)
_ISTIO_TRAILING_TAGS: tuple[tuple[str, str], ...] = (
    ("cache", r"(cache\.(.+?)\.)"),
    ("component", r"(component\.(.+?)\.)"),
    ("tag", r"(tag\.(.+?);\.)"),
    ("wasm_filter", r"(wasm_filter\.(.+?)\.)"),
    ("authz_enforce_result", r"rbac(\.(allowed|denied))"),
    ("authz_dry_run_action", r"(\.istio_dry_run_(allow|deny)_)"),
    ("authz_dry_run_result", r"(\.shadow_(allowed|denied))"),
)


@dataclass(frozen=True)
class TcpAddress:
    host: str
    port: int


@dataclass(frozen=True)
class UnixAddress:
    path: str


XdsAddress = TcpAddress | UnixAddress


#: Envoy runtime values Istio's proxies start with: a regex program may be up to 32768 RE2
#: instructions (Envoy's own default, 100, NACKs routes Istio accepts, e.g. a path regex with a
#: ``{1,64}`` repeat), and no global downstream connection cap (Envoy warns without one).
RUNTIME_FLAGS: dict[str, str] = {
    "re2.max_program_size.error_level": "32768",
    "overload.global_downstream_max_connections": "2147483647",
}


def sidecar_node_id(ip: str, pod: str, namespace: str, domain: str = "cluster.local") -> str:
    """Istio's node id: ``sidecar~<ip>~<pod>.<ns>~<ns>.svc.<domain>``."""
    return f"sidecar~{ip}~{pod}.{namespace}~{namespace}.svc.{domain}"


def stats_tags(extra_stat_tags: Sequence[str] = ()) -> list[dict[str, str]]:
    """Istio's stats tag extraction rules, with ``extra_stat_tags`` in Istio's format."""
    extra = [(tag, rf"({tag}=\.=(.*?);\.;)") for tag in extra_stat_tags]
    rules = [*_ISTIO_STATS_TAGS, *extra, *_ISTIO_TRAILING_TAGS]
    return [{"tag_name": name, "regex": regex} for name, regex in rules]


def render_bootstrap(
    *,
    node_id: str,
    cluster: str,
    xds_address: XdsAddress,
    metadata: Mapping[str, Any] | None = None,
    delta: bool = False,
    admin_host: str = "127.0.0.1",
    admin_port: int = 15000,
    extra_stat_tags: Sequence[str] = (),
    xds_connect_timeout_s: float = 1.0,
    upstream_socket_options: Sequence[Mapping[str, Any]] = (),
    sds_socket: str | None = None,
    metrics: MetricsPorts | None = None,
) -> dict[str, Any]:
    """The bootstrap for one proxy; ``delta`` selects incremental xDS (``DELTA_GRPC``).

    ``upstream_socket_options`` go to ``cluster_manager.upstream_bind_config``: they apply to
    every upstream socket of a cluster without its own bind config (the local runtime's userns
    mode sets ``SO_MARK`` there; inbound clusters bind 127.0.0.6 and are exempt by source).
    ``sds_socket``: the node agent's SDS socket, as the static ``sds-grpc`` cluster, plus the
    ``sds-prefetch`` cluster that subscribes to ``default`` and ``ROOTCA`` (off when None).
    ``metrics``: the 15090/15020 listeners (:mod:`sailmesh.xds.bootstrap_metrics`).
    """
    document: dict[str, Any] = {
        "node": {"id": node_id, "cluster": cluster, "metadata": dict(metadata or {})},
        "admin": {
            "address": _socket_address(admin_host, admin_port),
            "access_log": [_file_access_log("/dev/null")],
        },
        "stats_config": {"use_all_default_tags": False, "stats_tags": stats_tags(extra_stat_tags)},
        "layered_runtime": {
            "layers": [
                {"name": "global config", "static_layer": dict(RUNTIME_FLAGS)},
                {"name": "admin", "admin_layer": {}},
            ]
        },
        "dynamic_resources": _dynamic_resources(delta),
        "static_resources": {"clusters": [_xds_cluster(xds_address, xds_connect_timeout_s)]},
    }
    locality = _node_locality(metadata or {})
    if locality:
        document["node"]["locality"] = locality
    if sds_socket is not None:
        sds = _xds_cluster(UnixAddress(sds_socket), xds_connect_timeout_s, SDS_CLUSTER)
        document["static_resources"]["clusters"] += [sds, _sds_prefetch_cluster()]
    if metrics is not None:
        listeners, clusters = metrics_resources(metrics, node_id, admin_host, admin_port)
        document["static_resources"]["clusters"] += clusters
        if listeners:
            document["static_resources"]["listeners"] = listeners
        document["stats_config"]["histogram_bucket_settings"] = histogram_buckets()
    if upstream_socket_options:
        bind = {"socket_options": [dict(option) for option in upstream_socket_options]}
        document["cluster_manager"] = {"upstream_bind_config": bind}
    return document


def _node_locality(metadata: Mapping[str, Any]) -> dict[str, str]:
    """``node.locality`` from the topology labels in the metadata's ``LABELS`` (as Istio's
    injector sets it from the node's labels; the control plane reads it back)."""
    found = locality_from_labels(metadata.get("LABELS") or {})
    if not found:
        return {}
    region, zone, subzone = split_locality(found)
    return {k: v for k, v in (("region", region), ("zone", zone), ("sub_zone", subzone)) if v}


#: How Envoy reconnects its ADS stream. Envoy's default backoff (0.5 s doubling up to 30 s)
#: leaves a proxy unsynced for seconds after a control-plane restart; capped at 1 s, every
#: proxy is back within about a second of the control plane answering again.
_ADS_RETRY = {"retry_back_off": {"base_interval": "0.1s", "max_interval": "1s"}}


def _dynamic_resources(delta: bool) -> dict[str, Any]:
    def ads_source() -> dict[str, Any]:
        return {"ads": {}, "initial_fetch_timeout": "0s", "resource_api_version": "V3"}

    return {
        "lds_config": ads_source(),
        "cds_config": ads_source(),
        "ads_config": {
            "api_type": "DELTA_GRPC" if delta else "GRPC",
            "transport_api_version": "V3",
            "set_node_on_first_message_only": True,
            "grpc_services": [
                {"envoy_grpc": {"cluster_name": XDS_CLUSTER, "retry_policy": _ADS_RETRY}}
            ],
        },
    }


def _xds_cluster(
    address: XdsAddress, connect_timeout_s: float, name: str = XDS_CLUSTER
) -> dict[str, Any]:
    if isinstance(address, UnixAddress):
        endpoint_address: dict[str, Any] = {"pipe": {"path": address.path}}
    else:
        endpoint_address = _socket_address(address.host, address.port)
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": f"{connect_timeout_s:g}s",
        "lb_policy": "ROUND_ROBIN",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": endpoint_address}}]}],
        },
        "circuit_breakers": {
            "thresholds": [
                _thresholds("DEFAULT"),
                _thresholds("HIGH"),
            ]
        },
        "upstream_connection_options": {"tcp_keepalive": {"keepalive_time": 300}},
        "typed_extension_protocol_options": {
            HTTP_PROTOCOL_OPTIONS: {
                "@type": f"type.googleapis.com/{HTTP_PROTOCOL_OPTIONS}",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        },
    }


def sds_secret_config(name: str) -> dict[str, Any]:
    """A reference to secret ``name`` served by the ``sds-grpc`` cluster (JSON form of
    :func:`sailmesh.xds.secrets.sds_reference`)."""
    source = {
        "api_type": "GRPC",
        "transport_api_version": "V3",
        "set_node_on_first_message_only": True,
        "grpc_services": [{"envoy_grpc": {"cluster_name": SDS_CLUSTER}}],
    }
    return {
        "name": name,
        "sds_config": {"api_config_source": source, "resource_api_version": "V3"},
    }


def _sds_prefetch_cluster() -> dict[str, Any]:
    """A cluster without endpoints whose TLS context names the workload's secrets: Envoy
    subscribes to them at start and waits for them before it is ready."""
    tls = {
        "@type": f"type.googleapis.com/{UPSTREAM_TLS_CONTEXT}",
        "common_tls_context": {
            "tls_certificate_sds_secret_configs": [sds_secret_config(DEFAULT_SECRET)],
            "validation_context_sds_secret_config": sds_secret_config(ROOT_SECRET),
        },
    }
    return {
        "name": SDS_PREFETCH_CLUSTER,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {"cluster_name": SDS_PREFETCH_CLUSTER},
        "transport_socket": {"name": TLS_TRANSPORT_SOCKET, "typed_config": tls},
    }


def _thresholds(priority: str) -> dict[str, Any]:
    limit = 100000
    return {
        "priority": priority,
        "max_connections": limit,
        "max_pending_requests": limit,
        "max_requests": limit,
    }


def _socket_address(host: str, port: int) -> dict[str, Any]:
    return {"socket_address": {"address": host, "port_value": port}}


def _file_access_log(path: str) -> dict[str, Any]:
    return {
        "name": "envoy.access_loggers.file",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
            "path": path,
        },
    }
