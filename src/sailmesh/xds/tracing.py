"""The tracer of a proxy's HTTP connection managers, as the mesh config and Telemetry API say.

In: the proxy's scope (the Telemetry objects that apply to it, the mesh settings, the
registry), its translation options (whether its bootstrap reaches the control plane's OTLP
collector: ``traces``) and the reporter (``source`` for outbound listeners and gateways,
``destination`` for inbound chains). Out: the HCM's ``tracing`` (or None), with
``request_id_extension`` when ``useRequestIdForTraceSampling`` is false, Istio's span tags
(:mod:`sailmesh.xds.istio_span_tags`) unless ``enableIstioTags`` is false, and Envoy's
``no_context_propagation`` when ``disableContextPropagation`` is true. What to trace is
decided by :mod:`sailmesh.telemetry.tracing`.

Envoy makes one span per request and HCM; its kind follows the listener's traffic direction
(outbound: CLIENT, inbound: SERVER), so each hop is a client span of the caller's sidecar
(or the gateway) parenting a server span of the callee's sidecar; the app carries the context
from its inbound request to its outbound calls (``traceparent``, ``b3``, ``x-request-id``).

Providers:
- the built-in collector: Envoy's OpenTelemetry tracer over OTLP/gRPC (Istio's default for
  ``opentelemetry`` providers) to the control plane's receiver, which shares the ADS server
  (:mod:`sailmesh.controlplane.otlp_receiver`), through the proxy's own static ``xds-grpc``
  cluster: no other cluster or socket. Proxies the translation options do not mark as
  reporting (``traces``: explicit mode) report nothing. The collector also takes OTLP/HTTP
  at :data:`OTLP_TRACES_PATH` on the agent socket, for other senders;
- an ``opentelemetry`` provider: OTLP over gRPC (or HTTP with ``http.path``) to the
  ``outbound|<port>||<service>`` cluster; ``zipkin``: Zipkin v2 JSON to that cluster
  (``service``: ``ns/host``, a host, ``name.namespace`` or a short name). A provider whose service is not in the registry reports nothing (Envoy would reject a tracer naming a
  cluster it does not have).
The span's service name is Istio's ``<canonical service>.<namespace>``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from envoy.config.core.v3 import base_pb2, grpc_service_pb2, http_uri_pb2
from envoy.config.trace.v3 import http_tracer_pb2, opentelemetry_pb2, zipkin_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.request_id.uuid.v3 import uuid_pb2
from envoy.type.tracing.v3 import custom_tag_pb2
from envoy.type.v3 import percent_pb2
from google.protobuf import unknown_fields

from sailmesh.snapshot.hosts import DOMAIN_SUFFIX, fqdn
from sailmesh.snapshot.mesh import TracingProvider
from sailmesh.telemetry.policy import applicable
from sailmesh.telemetry.standard import Reporter
from sailmesh.telemetry.tracing import TraceTag, TracingSpec, tracing_spec
from sailmesh.xds import names, pb
from sailmesh.xds.bootstrap import XDS_CLUSTER
from sailmesh.xds.istio_span_tags import canonical_service, istio_tags, merged_tags
from sailmesh.xds.options import TranslateOptions
from sailmesh.xds.scope import ProxyScope

OPENTELEMETRY_TRACER = "envoy.tracers.opentelemetry"
ZIPKIN_TRACER = "envoy.tracers.zipkin"
UUID_REQUEST_ID = "envoy.request_id.uuid"
#: Where the control plane's collector takes OTLP/HTTP (protobuf) spans on the agent socket.
#: (Envoy's tracer uses OTLP/gRPC, :func:`_builtin`.)
OTLP_TRACES_PATH = "/v1/traces"
ZIPKIN_PATH = "/api/v2/spans"
_TIMEOUT_SECONDS = 2.0
#: ``HttpConnectionManager.Tracing.no_context_propagation`` (bool, field 13): Envoy 1.40 has it
#: (measured: its descriptor is in the binary), the ``xds-protos`` Python package (1.85, the
#: newest) does not, so :func:`_without_context_propagation` writes it as a raw field, which
#: protobuf keeps through packing and serializing and Envoy reads as the real field.
NO_CONTEXT_PROPAGATION_FIELD = 13


@dataclass(frozen=True)
class HcmTracing:
    """An HCM's ``tracing`` and, when sampling must not follow the request id, its
    ``request_id_extension``."""

    tracing: hcm_pb2.HttpConnectionManager.Tracing
    request_id: hcm_pb2.RequestIDExtension | None = None

    def apply(self, hcm: hcm_pb2.HttpConnectionManager) -> None:
        hcm.tracing.CopyFrom(self.tracing)
        if self.request_id is not None:
            hcm.request_id_extension.CopyFrom(self.request_id)


def service_name(scope: ProxyScope) -> str:
    """Istio's span service name: the proxy's canonical service and namespace."""
    return f"{canonical_service(scope.proxy)}.{scope.proxy.namespace}"


def _without_context_propagation(tracing: hcm_pb2.HttpConnectionManager.Tracing) -> None:
    """Set ``no_context_propagation: true``: Envoy still samples and reports spans but injects
    no trace context (``traceparent``, ``x-b3-*``) into the requests it forwards."""
    tag = (NO_CONTEXT_PROPAGATION_FIELD << 3) | 0  # wire type 0: varint
    tracing.MergeFromString(bytes([tag, 1]))


def context_propagation_disabled(tracing: hcm_pb2.HttpConnectionManager.Tracing) -> bool:
    """Whether ``tracing`` carries ``no_context_propagation: true`` (for tests and dumps)."""
    fields = unknown_fields.UnknownFieldSet(tracing)
    return any(f.field_number == NO_CONTEXT_PROPAGATION_FIELD and f.data for f in fields)


def _percent(value: float) -> percent_pb2.Percent:
    return percent_pb2.Percent(value=value)


def _custom_tag(tag: TraceTag) -> custom_tag_pb2.CustomTag:
    out = custom_tag_pb2.CustomTag(tag=tag.name)
    if tag.kind == "literal":
        out.literal.value = tag.source
    elif tag.kind == "header":
        out.request_header.name = tag.source
        out.request_header.default_value = tag.default
    elif tag.kind == "formatter":
        out.value = tag.source
    else:
        out.environment.name = tag.source
        out.environment.default_value = tag.default
    return out


def _grpc_service(
    cluster: str,
    authority: str,
    timeout_s: float | None = None,
    metadata: tuple[tuple[str, str], ...] = (),
) -> grpc_service_pb2.GrpcService:
    grpc = grpc_service_pb2.GrpcService.EnvoyGrpc(cluster_name=cluster, authority=authority)
    return grpc_service_pb2.GrpcService(
        envoy_grpc=grpc,
        timeout=pb.seconds(timeout_s if timeout_s is not None else _TIMEOUT_SECONDS),
        initial_metadata=[base_pb2.HeaderValue(key=k, value=v) for k, v in metadata],
    )


def _builtin(service: str) -> http_tracer_pb2.Tracing.Http:
    """OTLP/gRPC to the control plane's receiver, over the connection ADS uses."""
    config = opentelemetry_pb2.OpenTelemetryConfig(
        grpc_service=_grpc_service(XDS_CLUSTER, XDS_CLUSTER), service_name=service
    )
    return http_tracer_pb2.Tracing.Http(name=OPENTELEMETRY_TRACER, typed_config=pb.pack(config))


def _external(provider: TracingProvider, service: str) -> http_tracer_pb2.Tracing.Http:
    host = provider.service
    cluster = names.outbound_cluster(provider.port, "", host)
    if provider.kind == "zipkin":
        zipkin = zipkin_pb2.ZipkinConfig(
            collector_cluster=cluster,
            collector_endpoint=ZIPKIN_PATH,
            collector_endpoint_version=zipkin_pb2.ZipkinConfig.HTTP_JSON,
            collector_hostname=host,
            trace_id_128bit=True,
            shared_span_context=pb.bool_value(False),
        )
        return http_tracer_pb2.Tracing.Http(name=ZIPKIN_TRACER, typed_config=pb.pack(zipkin))
    config = opentelemetry_pb2.OpenTelemetryConfig(service_name=service)
    if provider.http_path is not None:
        timeout = provider.timeout_s if provider.timeout_s is not None else _TIMEOUT_SECONDS
        uri = http_uri_pb2.HttpUri(
            uri=f"http://{host}:{provider.port}{provider.http_path}",
            cluster=cluster,
            timeout=pb.seconds(timeout),
        )
        config.http_service.http_uri.CopyFrom(uri)
        for name, value in provider.headers:
            config.http_service.request_headers_to_add.add(
                header=base_pb2.HeaderValue(key=name, value=value)
            )
    else:  # Istio's default for opentelemetry providers: OTLP/gRPC
        config.grpc_service.CopyFrom(
            _grpc_service(cluster, host, provider.timeout_s, provider.headers)
        )
    return http_tracer_pb2.Tracing.Http(name=OPENTELEMETRY_TRACER, typed_config=pb.pack(config))


def _provider(
    scope: ProxyScope, options: TranslateOptions, spec: TracingSpec
) -> http_tracer_pb2.Tracing.Http | None:
    if not spec.report:
        return None
    service = service_name(scope)
    if spec.provider is None:
        return _builtin(service) if options.traces else None
    host = _provider_host(scope, spec.provider.service)
    if host is None:
        return None
    return _external(replace(spec.provider, service=host), service)


def _provider_host(scope: ProxyScope, written: str) -> str | None:
    """The registry host a provider's ``service`` names: ``ns/host``, a full host name,
    ``name.namespace`` or a short name in the proxy's namespace (None: no such service)."""
    namespace = scope.proxy.namespace
    written = written.partition("/")[2] or written
    candidates = [fqdn(written, namespace)]
    if written.count(".") == 1:
        candidates.append(f"{written}.{DOMAIN_SUFFIX}")
    return next((h for h in candidates if scope.snapshot.service(h, namespace) is not None), None)


def hcm_tracing(
    scope: ProxyScope, options: TranslateOptions, reporter: Reporter
) -> HcmTracing | None:
    """The tracing of an HCM reporting as ``reporter`` (memoized per reporter on the scope)."""
    memo: dict[str, HcmTracing | None] = scope.memo.setdefault("hcm_tracing", {})
    if reporter in memo:
        return memo[reporter]
    snapshot, proxy = scope.snapshot, scope.proxy
    telemetries = applicable(
        snapshot.of_kind("Telemetry"), snapshot.mesh.root_namespace, proxy.namespace, proxy.labels
    )
    spec = tracing_spec(telemetries, snapshot.mesh, reporter)
    found = None
    if spec is not None:
        custom = [_custom_tag(t) for t in spec.tags]
        if spec.istio_tags:
            custom = merged_tags(istio_tags(proxy, snapshot.mesh.trust_domain), custom)
        tracing = hcm_pb2.HttpConnectionManager.Tracing(
            client_sampling=_percent(100.0),
            random_sampling=_percent(spec.sampling),
            overall_sampling=_percent(100.0),
            custom_tags=custom,
        )
        if not spec.propagate:
            _without_context_propagation(tracing)
        provider = _provider(scope, options, spec)
        if provider is not None:
            tracing.provider.CopyFrom(provider)
        request_id = None
        if not spec.use_request_id:
            uuid = uuid_pb2.UuidRequestIdConfig(
                use_request_id_for_trace_sampling=pb.bool_value(False)
            )
            request_id = hcm_pb2.RequestIDExtension(typed_config=pb.pack(uuid))
        found = HcmTracing(tracing, request_id)
    memo[reporter] = found
    return found
