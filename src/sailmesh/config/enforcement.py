"""What sailmesh accepts but does not enforce yet: one table, reported as SM0001 NotEnforced.

Validation accepts the whole Istio API; translation enforces only part of it. Every kind or
field that validation accepts and translation ignores is listed here with the reason, so that
``sailctl apply``/``analyze``/``validate`` can tell the user (see
:mod:`sailmesh.config.unenforced` for the finder) instead of silently dropping it.

Patterns are field paths in Istio's camelCase YAML names, as validation paths are:
``name`` a field, ``[*]`` any list item, ``*`` any key of a map. ``spec`` alone is a whole kind.
``except_values`` lists the values of the field that *are* enforced (case-insensitive), and
``except_keys`` the keys of a ``*`` map segment that are. Traffic policy fields are listed once
and expanded to ``portLevelSettings[*]`` and ``subsets[*].trafficPolicy`` by :func:`_policy`.

When a feature is implemented, delete its line (and a test shows the field now changes the
Envoy output: ``tests/xds/test_enforcement_honesty.py`` fails until the line is gone).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sailmesh.config.cel import filter_expression, tag_supported

WHOLE_KIND = "spec"


@dataclass(frozen=True)
class NotEnforced:
    """One kind (``path == "spec"``) or field pattern accepted but not enforced, and why."""

    kind: str
    path: str
    reason: str
    except_values: tuple[str, ...] = ()
    except_keys: tuple[str, ...] = ()
    #: A further condition on the value when the field is partly enforced, and its wording.
    when: Callable[[Any], bool] | None = None
    when_text: str = ""

    @property
    def whole_kind(self) -> bool:
        return self.path == WHOLE_KIND


def _catch_all_with_bind(listener: Any) -> bool:
    """A Sidecar egress listener without a port (the catch-all) that sets bind or captureMode."""
    if not isinstance(listener, dict) or listener.get("port") is not None:
        return False
    mode = str(listener.get("captureMode") or "DEFAULT").upper()
    return bool(listener.get("bind")) or mode != "DEFAULT"


_USED_PROVIDERS = (
    "envoyFileAccessLog",
    "envoyExtAuthzHttp",
    "envoyExtAuthzGrpc",
    "opentelemetry",
    "zipkin",
)


def _not_file_provider(value: Any) -> bool:
    """An ``extensionProviders`` entry that is none of the kinds sailmesh uses (file access
    logs, ``envoyExtAuthzHttp``/``envoyExtAuthzGrpc`` authorization, OpenTelemetry and Zipkin
    tracing)."""
    return not (isinstance(value, dict) and any(k in value for k in _USED_PROVIDERS))


def _tag_not_computable(value: Any) -> bool:
    """A tagOverrides entry (``{value, operation}``) whose UPSERT value cannot be computed."""
    if not isinstance(value, dict) or value.get("operation") == "REMOVE":
        return False
    return not tag_supported(str(value.get("value") or ""))


def _filter_not_evaluable(value: Any) -> bool:
    return filter_expression(str(value or "")) is None


_POLICY_PREFIXES = ("spec.trafficPolicy", "spec.subsets[*].trafficPolicy")
_PORT_LEVEL = ".portLevelSettings[*]"


def _policy(field: str, reason: str, port_level: bool = True) -> tuple[NotEnforced, ...]:
    """A DestinationRule traffic policy field, at every level it can be set."""
    prefixes = [p + s for p in _POLICY_PREFIXES for s in ("", _PORT_LEVEL) if port_level or not s]
    return tuple(NotEnforced("DestinationRule", f"{p}.{field}", reason) for p in prefixes)


def _kind(kind: str, reason: str) -> NotEnforced:
    return NotEnforced(kind, WHOLE_KIND, reason)


# fmt: off
KINDS: tuple[NotEnforced, ...] = (
    _kind("WasmPlugin", "Wasm plugins are not loaded"),
    _kind("ProxyConfig", "ProxyConfig resources are not applied (use meshConfig.defaultConfig or the proxy.istio.io/config annotation)"),
    _kind("WorkloadGroup", "WorkloadGroups are not used: there is no VM auto-registration"),
)

VIRTUAL_SERVICE: tuple[NotEnforced, ...] = (
)

DESTINATION_RULE: tuple[NotEnforced, ...] = (
    *_policy("loadBalancer.zoneAwareLbSetting", "Envoy's zone-aware routing needs the proxy's own service as local cluster, which sidecars here do not have: use localityLbSetting"),
    *_policy("outlierDetection.outlierDetectionHttpErrorCodes", "custom HTTP error codes are not translated (they would need Envoy's outlier detection monitors): only 5xx and gateway errors count"),
    *_policy("retryBudget.budgetInterval", "Envoy's retry budget has no interval: it limits retries to a share of the requests active at the time", port_level=False),
)

GATEWAY: tuple[NotEnforced, ...] = (
    NotEnforced("Gateway", "spec.servers[*].tls.tlsCertificates[*].caCertificates", "the client CA comes from tls.caCertificates or the credential"),
    NotEnforced("Gateway", "spec.servers[*].defaultEndpoint", "default endpoints are not implemented"),
    NotEnforced("Gateway", "spec.servers[*].name", "server names are not used (stats are not prefixed)"),
)

SIDECAR: tuple[NotEnforced, ...] = (
    NotEnforced("Sidecar", "spec.ingress[*].tls.credentialName", "sidecars are sent no Secrets: ingress TLS uses serverCertificate/privateKey files (a listener with only a credential serves plaintext)"),
    NotEnforced("Sidecar", "spec.ingress[*].tls.credentialNames", "sidecars are sent no Secrets: ingress TLS uses serverCertificate/privateKey files"),
    NotEnforced("Sidecar", "spec.ingress[*].tls.caCertCredentialName", "sidecars are sent no Secrets: use caCertificates"),
    NotEnforced("Sidecar", "spec.ingress[*].tls.tlsCertificates[*].caCertificates", "the client CA comes from tls.caCertificates"),
    NotEnforced("Sidecar", "spec.egress[*]", "bind and captureMode are read on egress listeners with a port only: the catch-all's services keep their VIP/0.0.0.0 listeners, captured", when=_catch_all_with_bind, when_text="an egress listener without a port that sets bind or captureMode"),
)

_WAYPOINT = (
    "Service, ServiceEntry and GatewayClass targets bind a policy to waypoint proxies (ambient "
    "mode), which sailmesh does not run: the policy applies to no workload"
)
AUTHORIZATION_POLICY: tuple[NotEnforced, ...] = (
    NotEnforced("AuthorizationPolicy", "spec.targetRef.kind", _WAYPOINT, except_values=("Gateway",)),
    NotEnforced("AuthorizationPolicy", "spec.targetRefs[*].kind", _WAYPOINT, except_values=("Gateway",)),
)

SERVICE_ENTRY: tuple[NotEnforced, ...] = (
    NotEnforced("ServiceEntry", "spec.endpoints[*].network", "multi-network meshes are not supported: endpoints are reached directly"),
    NotEnforced("WorkloadEntry", "spec.network", "multi-network meshes are not supported: the workload is reached directly"),
)

_WAYPOINT_TARGET = (
    "only Kubernetes Gateway API gateways (kind Gateway) are targets here: a Service, "
    "ServiceEntry or GatewayClass target attaches the policy to waypoint proxies, which "
    "sailmesh does not run, so the policy applies nowhere"
)
_GATEWAY_TARGETS = ("Gateway",)


def _without_key_source(rule: Any) -> bool:
    """A JWT rule with neither ``jwks`` nor ``jwksUri`` (Istio discovers the keys through the
    issuer's OpenID configuration)."""
    return isinstance(rule, dict) and not rule.get("jwks") and not rule.get("jwksUri")


REQUEST_AUTHENTICATION: tuple[NotEnforced, ...] = (
    NotEnforced("RequestAuthentication", "spec.targetRef.kind", _WAYPOINT_TARGET, except_values=_GATEWAY_TARGETS),
    NotEnforced("RequestAuthentication", "spec.targetRefs[*].kind", _WAYPOINT_TARGET, except_values=_GATEWAY_TARGETS),
    NotEnforced(
        "RequestAuthentication",
        "spec.jwtRules[*]",
        "OpenID discovery of the issuer's keys is not implemented: give jwks or jwksUri; "
        "until then every token of this issuer is refused",
        when=_without_key_source,
        when_text="rules without jwks or jwksUri",
    ),
)

_EF_PATCH = "spec.configPatches[*]"
ENVOY_FILTER: tuple[NotEnforced, ...] = (
    NotEnforced("EnvoyFilter", f"{_EF_PATCH}.match.waypoint", "waypoint matches select waypoint proxies (ambient mode): there are none here, so the patch applies to no proxy"),
    NotEnforced("EnvoyFilter", f"{_EF_PATCH}.match.listener.portName", "listener port names are not matched (Istio does not implement them either): use portNumber"),
    NotEnforced("EnvoyFilter", f"{_EF_PATCH}.patch.filterClass", "filter classes do not place the filter: the operation decides where it goes"),
    NotEnforced("EnvoyFilter", "spec.targetRefs[*].kind", "GatewayClass and Service (waypoint) targets select no proxy here", when=lambda v: v in ("GatewayClass", "Service"), when_text="GatewayClass, Service"),
)

_MESH_READ = ("rootNamespace", "trustDomain", "trustDomainAliases", "outboundTrafficPolicy", "accessLogFile", "accessLogFormat", "accessLogEncoding", "extensionProviders", "defaultProviders", "defaultHttpRetryPolicy", "defaultConfig", "localityLbSetting", "enableTracing",
              "enableAutoMtls", "connectTimeout", "tcpKeepalive", "h2UpgradePolicy", "defaultServiceExportTo",
              "defaultVirtualServiceExportTo", "defaultDestinationRuleExportTo")
_MESH = "meshConfig field not read by sailmesh"
_EXT_AUTHZ_READ = ("service", "port", "timeout", "failOpen", "statusOnError", "clearRouteCache", "includeRequestBodyInCheck")
_EXT_AUTHZ_HTTP_READ = (*_EXT_AUTHZ_READ, "pathPrefix", "includeRequestHeadersInCheck", "includeHeadersInCheck",
                        "includeAdditionalHeadersInCheck", "headersToUpstreamOnAllow", "headersToDownstreamOnDeny",
                        "headersToDownstreamOnAllow")
MESH_CONFIG: tuple[NotEnforced, ...] = (
    NotEnforced("IstioOperator", "spec.*", "sailmesh has no installer: only spec.meshConfig is read", except_keys=("meshConfig",)),
    NotEnforced("IstioOperator", "spec.meshConfig.*", _MESH, except_keys=_MESH_READ),
    NotEnforced("IstioOperator", "spec.meshConfig.outboundTrafficPolicy.egressProxy", "not a field of Istio's MeshConfig (its outboundTrafficPolicy has only mode): egressProxy is a Sidecar field; set it on a Sidecar (one in the root namespace applies mesh-wide)"),
    NotEnforced("IstioOperator", "spec.meshConfig.defaultHttpRetryPolicy.*", _MESH, except_keys=("attempts", "retryOn")),
    NotEnforced("IstioOperator", "spec.meshConfig.defaultConfig.*", "proxy config field not applied (only proxyMetadata.ISTIO_DELTA_XDS and SECRET_TTL, and tracing.sampling are)", except_keys=("proxyMetadata", "tracing")),
    NotEnforced("IstioOperator", "spec.meshConfig.defaultConfig.tracing.*", "only tracing.sampling is read; the tracer comes from extensionProviders (default: the control plane's collector)", except_keys=("sampling",)),
    NotEnforced("IstioOperator", "spec.meshConfig.defaultConfig.proxyMetadata.*", "proxy metadata not read (only ISTIO_DELTA_XDS and SECRET_TTL are)", except_keys=("ISTIO_DELTA_XDS", "SECRET_TTL")),
    NotEnforced("IstioOperator", "spec.meshConfig.extensionProviders[*]", "only envoyFileAccessLog (access logs), envoyExtAuthzHttp and envoyExtAuthzGrpc (CUSTOM authorization), opentelemetry and zipkin (tracing) providers are used; this provider does nothing", when=_not_file_provider, when_text="providers other than envoyFileAccessLog, envoyExtAuthzHttp, envoyExtAuthzGrpc, opentelemetry and zipkin"),
    NotEnforced("IstioOperator", "spec.meshConfig.extensionProviders[*].envoyExtAuthzHttp.*", "ext_authz provider field not read", except_keys=_EXT_AUTHZ_HTTP_READ),
    NotEnforced("IstioOperator", "spec.meshConfig.extensionProviders[*].envoyExtAuthzGrpc.*", "ext_authz provider field not read", except_keys=_EXT_AUTHZ_READ),
    NotEnforced("IstioOperator", "spec.meshConfig.extensionProviders[*].opentelemetry.*", "only service, port, http and grpc are read", except_keys=("service", "port", "http", "grpc")),
    NotEnforced("IstioOperator", "spec.meshConfig.extensionProviders[*].opentelemetry.http.*", "only http.path, timeout and headers are read", except_keys=("path", "timeout", "headers")),
    NotEnforced("IstioOperator", "spec.meshConfig.extensionProviders[*].opentelemetry.grpc.*", "only grpc.timeout and initialMetadata are read", except_keys=("timeout", "initialMetadata")),
    NotEnforced("IstioOperator", "spec.meshConfig.extensionProviders[*].zipkin.*", "only service and port are read (128-bit trace ids, Zipkin v2 JSON at /api/v2/spans)", except_keys=("service", "port")),
    NotEnforced("IstioOperator", "spec.meshConfig.defaultProviders.*", "only defaultProviders.accessLogging and tracing are read", except_keys=("accessLogging", "tracing")),
)

TELEMETRY: tuple[NotEnforced, ...] = (
    NotEnforced("Telemetry", "spec.targetRef.kind", _WAYPOINT, except_values=("Gateway",)),
    NotEnforced("Telemetry", "spec.targetRefs[*].kind", _WAYPOINT, except_values=("Gateway",)),
    NotEnforced("Telemetry", "spec.metrics[*].overrides[*].match.customMetric", "custom metrics are not implemented"),
    NotEnforced("Telemetry", "spec.metrics[*].overrides[*].tagOverrides.*", "the value needs what the proxy cannot compute (Istio-only attributes such as upstream_peer, or not CEL): the label is not set", when=_tag_not_computable, when_text="values the proxy cannot compute"),
    NotEnforced("Telemetry", "spec.accessLogging[*].filter.expression", "the proxy cannot evaluate this expression (Istio's `|` operator, Istio-only attributes): every request is logged", when=_filter_not_evaluable, when_text="expressions the proxy cannot evaluate"),
)
# fmt: on

#: The table: every kind and field sailmesh accepts and does not enforce.
NOT_ENFORCED: tuple[NotEnforced, ...] = (
    *KINDS,
    *VIRTUAL_SERVICE,
    *DESTINATION_RULE,
    *ENVOY_FILTER,
    *GATEWAY,
    *SIDECAR,
    *AUTHORIZATION_POLICY,
    *SERVICE_ENTRY,
    *REQUEST_AUTHENTICATION,
    *MESH_CONFIG,
    *TELEMETRY,
)


def entries_for(kind: str) -> tuple[NotEnforced, ...]:
    """The table's entries about ``kind``."""
    return tuple(e for e in NOT_ENFORCED if e.kind == kind)


def enforced_kinds(all_kinds: tuple[str, ...]) -> list[str]:
    """Of ``all_kinds``, those not listed as a whole kind."""
    whole = {e.kind for e in NOT_ENFORCED if e.whole_kind}
    return [k for k in all_kinds if k not in whole]


#: What translation reads, for the README's summary (kinds not listed above as whole kinds).
ENFORCED_SUMMARY = (
    "VirtualService (HTTP, TCP and TLS routes, on sidecars and gateways), DestinationRule "
    "(tls.credentialName at gateways, as Istio), Gateway (HTTP, HTTPS, TLS and TCP servers, "
    "every TLS mode including AUTO_PASSTHROUGH, ports bound on the gateway Service's "
    "targetPort; credentialName Secrets served over SDS), "
    "ServiceEntry, WorkloadEntry, Sidecar, PeerAuthentication (on proxies with a workload "
    "identity), Telemetry (metrics overrides, access logging and tracing), AuthorizationPolicy "
    "(ALLOW, DENY, AUDIT, CUSTOM), RequestAuthentication (JWT validation on sidecars' inbound "
    "and on gateways, claim-based routing at gateways), EnvoyFilter (every applyTo and "
    "operation; BOOTSTRAP when a proxy starts), sailmesh's RateLimitPolicy; from an "
    "IstioOperator's meshConfig: rootNamespace, trustDomain, trustDomainAliases, "
    "outboundTrafficPolicy.mode, accessLogFile, accessLogFormat, accessLogEncoding, "
    "envoyFileAccessLog, envoyExtAuthzHttp, envoyExtAuthzGrpc, opentelemetry and zipkin "
    "extensionProviders, defaultProviders.accessLogging and tracing, enableTracing, "
    "defaultConfig.tracing.sampling, defaultHttpRetryPolicy (attempts, retryOn), "
    "localityLbSetting, enableAutoMtls, connectTimeout, tcpKeepalive, h2UpgradePolicy, "
    "defaultServiceExportTo, defaultVirtualServiceExportTo, defaultDestinationRuleExportTo, "
    "defaultConfig.proxyMetadata.ISTIO_DELTA_XDS and, for workload "
    "certificates, defaultConfig.proxyMetadata.SECRET_TTL"
)
_SHORTEN = (
    "spec.subsets[*].trafficPolicy.",
    "spec.trafficPolicy.",
    "portLevelSettings[*].",
    "spec.",
)


def _short(path: str) -> str:
    for prefix in _SHORTEN:
        path = path.replace(prefix, "")
    return path


def _qualifier(e: NotEnforced) -> str:
    excepted = (*e.except_values, *e.except_keys)
    if excepted:
        return f" (except {', '.join(excepted)})"
    return f" ({e.when_text})" if e.when_text else ""


def markdown_summary() -> str:
    """The README's "What is enforced today" body, rendered from the table."""
    lines = [
        f"Enforced (translated to Envoy): {ENFORCED_SUMMARY}.",
        "",
        "Accepted but **not enforced** yet; `sailctl apply`, `analyze` and `validate` report "
        "each use as `Warning [SM0001] NotEnforced` naming the object and field:",
        "",
    ]
    lines += [f"- {e.kind}: {e.reason}" for e in NOT_ENFORCED if e.whole_kind]
    fields: dict[str, list[str]] = {}
    for e in NOT_ENFORCED:
        if not e.whole_kind:
            short = f"`{_short(e.path)}`{_qualifier(e)}"
            if short not in fields.setdefault(e.kind, []):
                fields[e.kind].append(short)
    for kind, names in fields.items():
        lines.append(f"- {kind} fields: {', '.join(names)}")
    lines += [
        "",
        "(DestinationRule policy fields are listed once and apply at every level: "
        "`trafficPolicy`, `portLevelSettings`, subsets.)",
    ]
    return "\n".join(lines)
