"""Mesh-wide settings (the subset of Istio's MeshConfig sailmesh honours), with Istio's defaults.

``extensionProviders`` is read for its external authorization entries only
(:mod:`sailmesh.snapshot.providers`), which CUSTOM AuthorizationPolicies call. The outbound
cluster defaults (``enableAutoMtls``, ``connectTimeout``, ``tcpKeepalive``, ``h2UpgradePolicy``)
and the ``default*ExportTo`` visibilities come from :mod:`sailmesh.snapshot.mesh_defaults`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from sailmesh.config.models.destinationrule import LocalityLoadBalancerSetting
from sailmesh.snapshot.mesh_defaults import (
    ALL_NAMESPACES,
    DEFAULT_CONNECT_TIMEOUT_NANOS,
    H2UpgradePolicy,
    TcpKeepalive,
    connect_timeout_nanos,
    export_to,
    h2_upgrade_policy,
    tcp_keepalive,
)
from sailmesh.snapshot.providers import ExtAuthzProvider, ext_authz_providers, parse_duration

OutboundPolicy = Literal["ALLOW_ANY", "REGISTRY_ONLY"]


@dataclass(frozen=True)
class FileLogProvider:
    """An ``extensionProviders[]`` entry with ``envoyFileAccessLog``: its path and format
    (``logFormat.text``, or ``logFormat.labels`` kept as JSON text for a JSON log)."""

    name: str
    path: str = "/dev/stdout"
    text_format: str = ""
    labels_json: str = ""


TracerKind = Literal["opentelemetry", "zipkin"]


@dataclass(frozen=True)
class TracingProvider:
    """An ``extensionProviders[]`` entry with ``opentelemetry`` or ``zipkin``: where spans go
    (``service`` host and ``port``); ``http_path``: an OpenTelemetry provider's ``http.path``
    (OTLP/HTTP instead of gRPC, Istio's default). ``timeout_s`` and ``headers``: the export's
    timeout and extra headers (``grpc.timeout``/``grpc.initialMetadata``, or
    ``http.timeout``/``http.headers``)."""

    name: str
    kind: TracerKind
    service: str
    port: int
    http_path: str | None = None
    timeout_s: float | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class MeshConfig:
    root_namespace: str = "istio-system"
    trust_domain: str = "cluster.local"
    #: Other trust domains whose identities count as this mesh's (a trust-domain migration).
    trust_domain_aliases: tuple[str, ...] = ()
    outbound_traffic_policy: OutboundPolicy = "ALLOW_ANY"
    #: None: not set (each proxy's default applies: the local runtime's pods log to stdout);
    #: "": no access log.
    access_log_file: str | None = None
    access_log_format: str = ""
    access_log_encoding: str = "TEXT"
    file_log_providers: tuple[FileLogProvider, ...] = ()
    default_access_log_providers: tuple[str, ...] = ()
    enable_tracing: bool = True
    tracing_providers: tuple[TracingProvider, ...] = ()
    default_tracing_providers: tuple[str, ...] = ()
    #: ``defaultConfig.tracing.sampling``: percent of requests traced when nothing else says.
    default_sampling: float = 1.0
    default_retry_attempts: int = 2
    default_retry_on: str = (
        "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
    )
    ingress_class: str = "istio"
    extension_providers: tuple[ExtAuthzProvider, ...] = ()
    #: ``enableAutoMtls``: clients pick Istio mutual TLS for in-mesh services without a
    #: DestinationRule ``tls``; false: they send plaintext unless a rule says ISTIO_MUTUAL.
    enable_auto_mtls: bool = True
    #: ``connectTimeout``: every cluster's connect timeout unless a DestinationRule's
    #: ``connectionPool.tcp.connectTimeout`` overrides it.
    connect_timeout_nanos: int = DEFAULT_CONNECT_TIMEOUT_NANOS
    #: ``tcpKeepalive``: upstream keepalive of outbound clusters (a rule's fields override).
    tcp_keepalive: TcpKeepalive | None = None
    #: ``h2UpgradePolicy``: the default of a DestinationRule's ``http.h2UpgradePolicy``.
    h2_upgrade_policy: H2UpgradePolicy = "DO_NOT_UPGRADE"
    #: ``defaultServiceExportTo`` and friends: visibility of objects without ``exportTo``.
    default_service_export_to: tuple[str, ...] = ALL_NAMESPACES
    default_virtual_service_export_to: tuple[str, ...] = ALL_NAMESPACES
    default_destination_rule_export_to: tuple[str, ...] = ALL_NAMESPACES

    def ext_authz_provider(self, name: str) -> ExtAuthzProvider | None:
        """The external authorization provider called ``name``, if the mesh declares one."""
        return next((p for p in self.extension_providers if p.name == name), None)

    @property
    def trust_domains(self) -> tuple[str, ...]:
        """The trust domain then its aliases, without duplicates or blanks (Istio's
        ``TrustDomainsForValidation``): peers from any of them are accepted."""
        found: list[str] = []
        for domain in (self.trust_domain, *self.trust_domain_aliases):
            if domain and domain not in found:
                found.append(domain)
        return tuple(found)

    #: ``localityLbSetting``; Istio's default mesh config enables locality failover.
    locality_lb_setting: LocalityLoadBalancerSetting | None = field(
        default_factory=lambda: LocalityLoadBalancerSetting(enabled=True), hash=False
    )

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> MeshConfig:
        """Read Istio's MeshConfig YAML shape (``outboundTrafficPolicy: {mode: ...}``, ...)."""
        data = data or {}
        policy = (data.get("outboundTrafficPolicy") or {}).get("mode", "ALLOW_ANY")
        retry = data.get("defaultHttpRetryPolicy") or {}
        log_file = data.get("accessLogFile")
        defaults = (data.get("defaultProviders") or {}).get("accessLogging") or []
        return cls(
            root_namespace=data.get("rootNamespace", "istio-system"),
            trust_domain=data.get("trustDomain") or "cluster.local",
            trust_domain_aliases=tuple(str(a) for a in data.get("trustDomainAliases") or ()),
            outbound_traffic_policy=policy
            if policy in ("ALLOW_ANY", "REGISTRY_ONLY")
            else "ALLOW_ANY",
            access_log_file=None if log_file is None else str(log_file),
            access_log_format=str(data.get("accessLogFormat") or ""),
            access_log_encoding=str(data.get("accessLogEncoding") or "TEXT").upper(),
            file_log_providers=_file_log_providers(data.get("extensionProviders")),
            default_access_log_providers=tuple(str(p) for p in defaults),
            enable_tracing=bool(data.get("enableTracing", True)),
            tracing_providers=_tracing_providers(data.get("extensionProviders")),
            default_tracing_providers=tuple(
                str(p) for p in (data.get("defaultProviders") or {}).get("tracing") or []
            ),
            default_sampling=_sampling(data.get("defaultConfig")),
            default_retry_attempts=int(retry.get("attempts", 2)),
            default_retry_on=retry.get("retryOn", cls.default_retry_on),
            extension_providers=ext_authz_providers(data.get("extensionProviders")),
            locality_lb_setting=_locality_setting(data.get("localityLbSetting")),
            enable_auto_mtls=data.get("enableAutoMtls") is not False,
            connect_timeout_nanos=connect_timeout_nanos(data.get("connectTimeout")),
            tcp_keepalive=tcp_keepalive(data.get("tcpKeepalive")),
            h2_upgrade_policy=h2_upgrade_policy(data.get("h2UpgradePolicy")),
            default_service_export_to=export_to(data.get("defaultServiceExportTo")),
            default_virtual_service_export_to=export_to(data.get("defaultVirtualServiceExportTo")),
            default_destination_rule_export_to=export_to(
                data.get("defaultDestinationRuleExportTo")
            ),
        )


def _locality_setting(data: Any) -> LocalityLoadBalancerSetting | None:
    """The mesh-wide setting (Istio's default ``{enabled: true}`` when absent or invalid)."""
    if data is None:
        return LocalityLoadBalancerSetting(enabled=True)
    try:
        return LocalityLoadBalancerSetting.model_validate(data)
    except ValidationError:
        return LocalityLoadBalancerSetting(enabled=True)


def _file_log_providers(providers: Any) -> tuple[FileLogProvider, ...]:
    out = []
    for provider in providers if isinstance(providers, list) else []:
        if not isinstance(provider, dict):
            continue
        settings = provider.get("envoyFileAccessLog")
        if not isinstance(settings, dict) or not provider.get("name"):
            continue
        log_format = settings.get("logFormat") or {}
        labels = log_format.get("labels") if isinstance(log_format, dict) else None
        out.append(
            FileLogProvider(
                name=str(provider["name"]),
                path=str(settings.get("path") or "/dev/stdout"),
                text_format=str(log_format.get("text") or "")
                if isinstance(log_format, dict)
                else "",
                labels_json=json.dumps(labels) if isinstance(labels, dict) else "",
            )
        )
    return tuple(out)


def _sampling(default_config: Any) -> float:
    tracing = default_config.get("tracing") if isinstance(default_config, dict) else None
    value = tracing.get("sampling") if isinstance(tracing, dict) else None
    try:
        return min(max(float(value), 0.0), 100.0) if value is not None else 1.0
    except (TypeError, ValueError):
        return 1.0


def _tracing_providers(providers: Any) -> tuple[TracingProvider, ...]:
    out = []
    for provider in providers if isinstance(providers, list) else []:
        if not isinstance(provider, dict) or not provider.get("name"):
            continue
        for kind in ("opentelemetry", "zipkin"):
            settings = provider.get(kind)
            if not isinstance(settings, dict) or not settings.get("service"):
                continue
            http = settings.get("http") if kind == "opentelemetry" else None
            path = str(http.get("path") or "/v1/traces") if isinstance(http, dict) else None
            transport = http if isinstance(http, dict) else settings.get("grpc")
            if kind != "opentelemetry" or not isinstance(transport, dict):
                transport = {}
            headers = transport.get("headers" if path is not None else "initialMetadata")
            out.append(
                TracingProvider(
                    name=str(provider["name"]),
                    kind="opentelemetry" if kind == "opentelemetry" else "zipkin",
                    service=str(settings["service"]),
                    port=int(settings.get("port") or (4317 if kind == "opentelemetry" else 9411)),
                    http_path=path,
                    timeout_s=parse_duration(transport.get("timeout")),
                    headers=_header_values(headers),
                )
            )
    return tuple(out)


def _header_values(values: Any) -> tuple[tuple[str, str], ...]:
    """``[{name, value}]`` (Istio's ``HeaderValue``s) -> ((name, value), ...)."""
    out = []
    for item in values if isinstance(values, list) else []:
        if isinstance(item, dict) and item.get("name"):
            out.append((str(item["name"]), str(item.get("value") or "")))
    return tuple(out)
