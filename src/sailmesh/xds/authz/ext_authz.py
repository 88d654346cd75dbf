"""External authorization filters for CUSTOM policies, from MeshConfig extension providers.

In: an :class:`~sailmesh.snapshot.providers.ExtAuthzProvider` and the snapshot (to find the
provider's service). Out: the ``envoy.filters.http.ext_authz`` config (HTTP or gRPC service)
and, for gRPC providers, the ``envoy.filters.network.ext_authz`` config for TCP ports.

The filter runs only for requests a CUSTOM rule matched: an RBAC filter before it evaluates the
CUSTOM rules as shadow rules (never enforced) and records the matched rule's name, which starts
with ``istio-ext-authz``, in dynamic metadata (``istio_ext_authz_shadow_effective_policy_id``
in the RBAC filter's namespace); ``filter_enabled_metadata`` enables ext_authz on that prefix.
Upstream Envoy has every piece, so this is Istio's own mechanism unchanged.

The provider's ``service`` is ``[<namespace>/]<hostname>`` of a Service or ServiceEntry; the
filter calls its outbound cluster ``outbound|<port>||<hostname>``, so the call goes through
the proxy's own cluster for it (mutual TLS to a meshed server when the mesh uses it).
"""

from __future__ import annotations

from collections.abc import Sequence

from envoy.config.core.v3 import base_pb2, config_source_pb2, grpc_service_pb2, http_uri_pb2
from envoy.extensions.filters.http.ext_authz.v3 import ext_authz_pb2 as http_pb2
from envoy.extensions.filters.network.ext_authz.v3 import ext_authz_pb2 as net_pb2
from envoy.type.matcher.v3 import metadata_pb2, string_pb2, value_pb2
from envoy.type.v3 import http_status_pb2

from sailmesh.snapshot.hosts import fqdn
from sailmesh.snapshot.providers import ExtAuthzProvider
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.xds import names, pb
from sailmesh.xds.authz import matchers

RBAC_HTTP = "envoy.filters.http.rbac"
RBAC_NETWORK = "envoy.filters.network.rbac"
#: Istio's default for a provider without ``timeout``.
DEFAULT_TIMEOUT_SECONDS = 600.0


def provider_host(provider: ExtAuthzProvider, snapshot: MeshSnapshot) -> str | None:
    """The hostname of the provider's service in the registry (None: no such service)."""
    namespace = provider.namespace
    host = provider.hostname
    wanted = fqdn(host, namespace) if namespace else host
    for service in snapshot.registry.services:
        if service.hostname == wanted and (namespace is None or service.namespace == namespace):
            return service.hostname
    return None


def _enabled_when(rbac_filter: str) -> metadata_pb2.MetadataMatcher:
    """Matches when the shadow RBAC filter recorded a CUSTOM rule as the matched policy."""
    key = f"{names.EXT_AUTHZ_SHADOW_PREFIX}shadow_effective_policy_id"
    prefix = string_pb2.StringMatcher(prefix=names.EXT_AUTHZ_POLICY_PREFIX)
    return metadata_pb2.MetadataMatcher(
        filter=rbac_filter,
        path=[metadata_pb2.MetadataMatcher.PathSegment(key=key)],
        value=value_pb2.ValueMatcher(string_match=prefix),
    )


def _header_list(headers: Sequence[str]) -> string_pb2.ListStringMatcher:
    return string_pb2.ListStringMatcher(
        patterns=[matchers.string(h.lower(), ignore_case=True) for h in headers]
    )


def _grpc_service(provider: ExtAuthzProvider, cluster: str) -> grpc_service_pb2.GrpcService:
    # "|" is not valid in an :authority; Istio writes the cluster name with "_." instead.
    authority = cluster.replace("|", "_.")
    return grpc_service_pb2.GrpcService(
        envoy_grpc=grpc_service_pb2.GrpcService.EnvoyGrpc(
            cluster_name=cluster, authority=authority
        ),
        timeout=pb.seconds(provider.timeout_seconds or DEFAULT_TIMEOUT_SECONDS),
    )


def _http_service(provider: ExtAuthzProvider, host: str, cluster: str) -> http_pb2.HttpService:
    service = http_pb2.HttpService(
        server_uri=http_uri_pb2.HttpUri(
            uri=f"http://{host}",
            cluster=cluster,
            timeout=pb.seconds(provider.timeout_seconds or DEFAULT_TIMEOUT_SECONDS),
        ),
        path_prefix=provider.path_prefix,
    )
    for key, value in provider.include_additional_headers_in_check:
        service.authorization_request.headers_to_add.append(
            base_pb2.HeaderValue(key=key, value=value)
        )
    response = service.authorization_response
    if provider.headers_to_upstream_on_allow:
        response.allowed_upstream_headers.CopyFrom(
            _header_list(provider.headers_to_upstream_on_allow)
        )
    if provider.headers_to_downstream_on_deny:
        response.allowed_client_headers.CopyFrom(
            _header_list(provider.headers_to_downstream_on_deny)
        )
    if provider.headers_to_downstream_on_allow:
        response.allowed_client_headers_on_success.CopyFrom(
            _header_list(provider.headers_to_downstream_on_allow)
        )
    return service


def http_ext_authz(provider: ExtAuthzProvider, host: str) -> http_pb2.ExtAuthz:
    """The HTTP filter's config calling ``provider`` (whose service is ``host``)."""
    cluster = names.outbound_cluster(provider.port, "", host)
    config = http_pb2.ExtAuthz(
        transport_api_version=config_source_pb2.ApiVersion.V3,
        failure_mode_allow=provider.fail_open,
        clear_route_cache=provider.clear_route_cache,
        filter_enabled_metadata=_enabled_when(RBAC_HTTP),
    )
    if provider.kind == "grpc":
        config.grpc_service.CopyFrom(_grpc_service(provider, cluster))
    else:
        config.http_service.CopyFrom(_http_service(provider, host, cluster))
        if provider.include_request_headers_in_check:
            config.allowed_headers.CopyFrom(_header_list(provider.include_request_headers_in_check))
    if provider.status_on_error is not None:
        config.status_on_error.CopyFrom(http_status_pb2.HttpStatus(code=provider.status_on_error))
    body = provider.request_body
    if body is not None:
        config.with_request_body.max_request_bytes = body.max_request_bytes
        config.with_request_body.allow_partial_message = body.allow_partial_message
        config.with_request_body.pack_as_bytes = body.pack_as_bytes
    return config


def network_ext_authz(provider: ExtAuthzProvider, host: str) -> net_pb2.ExtAuthz | None:
    """The network filter's config for TCP ports (gRPC providers only, as in Istio)."""
    if provider.kind != "grpc":
        return None
    cluster = names.outbound_cluster(provider.port, "", host)
    return net_pb2.ExtAuthz(
        stat_prefix=names.TCP_RBAC_STAT_PREFIX,
        grpc_service=_grpc_service(provider, cluster),
        failure_mode_allow=provider.fail_open,
        transport_api_version=config_source_pb2.ApiVersion.V3,
        filter_enabled_metadata=_enabled_when(RBAC_NETWORK),
    )
