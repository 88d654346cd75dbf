"""Istio's analysis message types: code, name, level and template (istio.io/docs/reference/config/analysis).

Codes ``ISTnnnn`` are Istio's; sailmesh's own messages use ``SMnnnn`` (documented in the README).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sailmesh.config.diagnostics import Level, Problem, Source
from sailmesh.config.resource import Resource


@dataclass(frozen=True)
class MessageType:
    code: str
    name: str
    level: Level
    template: str

    def at(self, resource: Resource, *args: Any, path: str = "") -> Problem:
        """A message about ``resource``, located at the line of ``path`` when given."""
        return Problem(
            self.level,
            self.template % args if args else self.template,
            path,
            resource.ref,
            resource.source_at(path) if path else resource.source,
            self.code,
        )

    def detached(self, *args: Any, source: Source | None = None) -> Problem:
        return Problem(
            self.level,
            self.template % args if args else self.template,
            source=source,
            code=self.code,
        )

    @property
    def url(self) -> str | None:
        """Istio's page for an IST code (sailmesh's own SM codes have none there)."""
        if not self.code.startswith("IST"):
            return None
        return f"https://istio.io/latest/docs/reference/config/analysis/{self.code.lower()}/"


_W, _E, _I = Level.WARNING, Level.ERROR, Level.INFO

INTERNAL_ERROR = MessageType("IST0001", "InternalError", _E, "Internal error: %s")
DEPRECATED = MessageType("IST0002", "Deprecated", _W, "Deprecated: %s")
REFERENCED_RESOURCE_NOT_FOUND = MessageType(
    "IST0101", "ReferencedResourceNotFound", _E, 'Referenced %s not found: "%s"'
)
NAMESPACE_NOT_INJECTED = MessageType(
    "IST0102",
    "NamespaceNotInjected",
    _I,
    "The namespace is not enabled for Istio injection. Run 'kubectl label namespace %s "
    "istio-injection=enabled' to enable it, or 'kubectl label namespace %s "
    "istio-injection=disabled' to explicitly mark it as not needing injection.",
)
POD_MISSING_PROXY = MessageType(
    "IST0103",
    "PodMissingProxy",
    _W,
    "The pod %s is missing the Istio proxy. This can often be resolved by restarting or "
    "redeploying the workload.",
)
SCHEMA_VALIDATION_ERROR = MessageType(
    "IST0106", "SchemaValidationError", _E, "Schema validation error: %s"
)
MISPLACED_ANNOTATION = MessageType(
    "IST0107",
    "MisplacedAnnotation",
    _W,
    "Misplaced annotation: %s can only be applied to %s",
)
UNKNOWN_ANNOTATION = MessageType("IST0108", "UnknownAnnotation", _W, "Unknown annotation: %s")
CONFLICTING_MESH_GATEWAY_VS_HOSTS = MessageType(
    "IST0109",
    "ConflictingMeshGatewayVirtualServiceHosts",
    _E,
    "The VirtualServices %s associated with mesh gateway define the same host %s which can lead to "
    "undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.",
)
CONFLICTING_SIDECAR_WORKLOAD_SELECTORS = MessageType(
    "IST0110",
    "ConflictingSidecarWorkloadSelectors",
    _E,
    'The Sidecars %s in namespace "%s" select the same workload pod "%s", which can lead to undefined behavior.',
)
MULTIPLE_SIDECARS_WITHOUT_SELECTORS = MessageType(
    "IST0111",
    "MultipleSidecarsWithoutWorkloadSelectors",
    _E,
    'The Sidecars %s in namespace "%s" have no workload selector, which can lead to undefined behavior.',
)
VS_DESTINATION_PORT_SELECTOR_REQUIRED = MessageType(
    "IST0112",
    "VirtualServiceDestinationPortSelectorRequired",
    _E,
    'This VirtualService routes to a service "%s" that exposes multiple ports %s. Specifying a port in '
    "the destination is required to disambiguate.",
)
DEPLOYMENT_ASSOCIATED_TO_MULTIPLE_SERVICES = MessageType(
    "IST0116",
    "DeploymentAssociatedToMultipleServices",
    _W,
    "This deployment %s is associated with multiple services using port %d but different "
    "protocols: %s",
)
PORT_NAME_NOT_UNDER_NAMING_CONVENTION = MessageType(
    "IST0118",
    "PortNameIsNotUnderNamingConvention",
    _I,
    "Port name %s (port: %d, targetPort: %s) doesn't follow the naming convention of Istio port.",
)
INVALID_REGEXP = MessageType(
    "IST0122", "InvalidRegexp", _W, 'Field "%s" regular expression invalid: "%s" (%s)'
)
NAMESPACE_MULTIPLE_INJECTION_LABELS = MessageType(
    "IST0123",
    "NamespaceMultipleInjectionLabels",
    _W,
    "The namespace has more than one type of injection labels %s, which may lead to undefined "
    "behavior. Make sure only one injection label exists.",
)
INVALID_ANNOTATION = MessageType("IST0125", "InvalidAnnotation", _W, "Invalid annotation %s: %s")
NO_MATCHING_WORKLOADS_FOUND = MessageType(
    "IST0127",
    "NoMatchingWorkloadsFound",
    _W,
    "No matching workloads for this resource with the following labels: %s",
)
NO_SERVER_CERT_VERIFICATION_DESTINATION_LEVEL = MessageType(
    "IST0128",
    "NoServerCertificateVerificationDestinationLevel",
    _W,
    "DestinationRule %s in namespace %s has TLS mode set to %s but no caCertificates are set to "
    "validate server identity for host: %s",
)
NO_SERVER_CERT_VERIFICATION_PORT_LEVEL = MessageType(
    "IST0129",
    "NoServerCertificateVerificationPortLevel",
    _W,
    "DestinationRule %s in namespace %s has TLS mode set to %s but no caCertificates are set to "
    "validate server identity for host: %s at port %s",
)
VS_UNREACHABLE_RULE = MessageType(
    "IST0130", "VirtualServiceUnreachableRule", _W, "VirtualService rule %s not used (%s)."
)
VS_INEFFECTIVE_MATCH = MessageType(
    "IST0131",
    "VirtualServiceIneffectiveMatch",
    _I,
    "VirtualService rule %s match %s is not used (duplicate/overlapping match in rule %s).",
)
VS_HOST_NOT_FOUND_IN_GATEWAY = MessageType(
    "IST0132",
    "VirtualServiceHostNotFoundInGateway",
    _W,
    "one or more host %s defined in VirtualService %s not found in Gateway %s.",
)
SCHEMA_WARNING = MessageType("IST0133", "SchemaWarning", _W, "Schema validation warning: %s")
SERVICE_ENTRY_ADDRESSES_REQUIRED = MessageType(
    "IST0134",
    "ServiceEntryAddressesRequired",
    _W,
    "ServiceEntry addresses are required for this protocol.",
)
DEPRECATED_ANNOTATION = MessageType(
    "IST0135",
    "DeprecatedAnnotation",
    _I,
    'Annotation "%s" has been deprecated%s and may not work in future Istio versions.',
)
ALPHA_ANNOTATION = MessageType(
    "IST0136",
    "AlphaAnnotation",
    _I,
    'Annotation "%s" is part of an alpha-phase feature and may be incompletely supported.',
)
DEPLOYMENT_CONFLICTING_PORTS = MessageType(
    "IST0137",
    "DeploymentConflictingPorts",
    _W,
    'This deployment %s is associated with multiple services %s using targetPort "%s" but '
    "different ports: %s.",
)
GATEWAY_DUPLICATE_CERTIFICATE = MessageType(
    "IST0138",
    "GatewayDuplicateCertificate",
    _W,
    "Duplicate certificate in multiple gateways %s may cause 404s if clients re-use HTTP2 "
    "connections.",
)
INGRESS_ROUTE_RULES_NOT_AFFECTED = MessageType(
    "IST0140",
    "IngressRouteRulesNotAffected",
    _W,
    "Subset in virtual service %s has no effect on ingress gateway %s requests",
)
INVALID_APPLICATION_UID = MessageType(
    "IST0144",
    "InvalidApplicationUID",
    _W,
    "User ID (UID) 1337 is reserved for the sidecar proxy.",
)
CONFLICTING_GATEWAYS = MessageType(
    "IST0145",
    "ConflictingGateways",
    _E,
    "Conflict with gateways %s (workload selector %s, port %s, hosts %s).",
)
JWT_CLAIM_ROUTING_WITHOUT_REQUEST_AUTHN = MessageType(
    "IST0149",
    "JwtClaimBasedRoutingWithoutRequestAuthN",
    _E,
    "The virtual service uses the JWT claim based routing (key: %s) but found no request authentication "
    "for the gateway (%s) pod (%s). The request authentication must first be applied for the gateway "
    "pods to validate the JWT token and make the claims available for routing.",
)
EXTERNAL_NAME_SERVICE_TYPE_INVALID_PORT_NAME = MessageType(
    "IST0150",
    "ExternalNameServiceTypeInvalidPortName",
    _W,
    "Port name for ExternalName service is invalid. Proxy may prevent tcp named ports and "
    "unmatched traffic for ports serving TCP protocol from being forwarded correctly",
)
ENVOY_FILTER_USES_RELATIVE_OPERATION = MessageType(
    "IST0151",
    "EnvoyFilterUsesRelativeOperation",
    _W,
    "This EnvoyFilter does not have a priority and has a relative patch operation set which can "
    "cause the EnvoyFilter not to be applied. Using the INSERT_FIRST of ADD option or setting "
    "the priority may help in ensuring the EnvoyFilter is applied correctly.",
)
ENVOY_FILTER_USES_REPLACE_OPERATION_INCORRECTLY = MessageType(
    "IST0152",
    "EnvoyFilterUsesReplaceOperationIncorrectly",
    _E,
    "The REPLACE operation is only valid for HTTP_FILTER and NETWORK_FILTER.",
)
ENVOY_FILTER_USES_ADD_OPERATION_INCORRECTLY = MessageType(
    "IST0153",
    "EnvoyFilterUsesAddOperationIncorrectly",
    _E,
    "The ADD operation will be ignored when applyTo is set to ROUTE_CONFIGURATION, or HTTP_ROUTE.",
)
ENVOY_FILTER_USES_REMOVE_OPERATION_INCORRECTLY = MessageType(
    "IST0154",
    "EnvoyFilterUsesRemoveOperationIncorrectly",
    _E,
    "The REMOVE operation will be ignored when applyTo is set to ROUTE_CONFIGURATION, or "
    "HTTP_ROUTE.",
)
ENVOY_FILTER_USES_RELATIVE_OPERATION_WITH_PROXY_VERSION = MessageType(
    "IST0155",
    "EnvoyFilterUsesRelativeOperationWithProxyVersion",
    _W,
    "This EnvoyFilter does not have a priority and has a relative patch operation (NSTERT_BEFORE/"
    "AFTER, REPLACE, MERGE, DELETE) and proxyVersion set which can cause the EnvoyFilter not to "
    "be applied during an upgrade. Using the INSERT_FIRST or ADD option or setting the priority "
    "may help in ensuring the EnvoyFilter is applied correctly.",
)
INVALID_TELEMETRY_PROVIDER = MessageType(
    "IST0157",
    "InvalidTelemetryProvider",
    _W,
    'The Telemetry %s in namespace "%s" with empty providers will be ignored.',
)
CONFLICTING_TELEMETRY_WORKLOAD_SELECTORS = MessageType(
    "IST0159",
    "ConflictingTelemetryWorkloadSelectors",
    _E,
    'The Telemetries %s in namespace "%s" select the same workload pod "%s", which can lead to undefined behavior.',
)
MULTIPLE_TELEMETRIES_WITHOUT_SELECTORS = MessageType(
    "IST0160",
    "MultipleTelemetriesWithoutWorkloadSelectors",
    _E,
    'The Telemetries %s in namespace "%s" have no workload selector, which can lead to undefined behavior.',
)
INVALID_GATEWAY_CREDENTIAL = MessageType(
    "IST0161",
    "InvalidGatewayCredential",
    _E,
    "The credential referenced by the Gateway %s in namespace %s is invalid, which can cause the "
    "traffic not to work as expected.",
)
GATEWAY_PORT_NOT_DEFINED_ON_SERVICE = MessageType(
    "IST0162",
    "GatewayPortNotDefinedOnService",
    _W,
    "The gateway is listening on a target port (port %d) that is not defined in the Service "
    "associated with its workload instances (Pod selector %s). If you need to access the gateway "
    "port through the gateway Service, it will not be available.",
)
REFERENCED_INTERNAL_GATEWAY = MessageType(
    "IST0165",
    "ReferencedInternalGateway",
    _W,
    "Gateway reference in VirtualService %s is to an implementation-generated internal Gateway: %s.",
)
INEFFECTIVE_POLICY = MessageType(
    "IST0167", "IneffectivePolicy", _W, "The policy has no impact: %s."
)
DESTINATION_RULE_SUBSET_NOT_SELECT_PODS = MessageType(
    "IST0173",
    "DestinationRuleSubsetNotSelectPods",
    _E,
    "The Subset %s defined in the DestinationRule does not select any pods. Which may lead to 503 UH "
    "(NoHealthyUpstream).",
)
DESTINATION_RULE_HOST_NOT_FOUND = MessageType(
    "IST0174",
    "UnknownDestinationRuleHost",
    _W,
    "The host %s defined in the DestinationRule does not match any services in the mesh.",
)
CONFLICTING_SERVICE_ENTRY_PROTOCOLS = MessageType(
    "IST0177",
    "ConflictingServiceEntryProtocols",
    _W,
    'The ServiceEntries %s define host "%s" port %s with conflicting protocols %s; traffic on this '
    "port will be handled by only one of them.",
)

# --- sailmesh's own codes (SMnnnn) ------------------------------------------------------------
NOT_ENFORCED = MessageType("SM0001", "NotEnforced", _W, "%s: not enforced: %s")
STACKED_RATE_LIMITS = MessageType(
    "SM0002",
    "StackedRateLimitPolicies",
    _I,
    "The RateLimitPolicies %s select the pod %s/%s: each applies its own buckets, and a request "
    "must pass all of them.",
)
OPAQUE_ROUTES_WITHOUT_SERVICE = MessageType(
    "SM0003",
    "OpaqueRoutesWithoutService",
    _W,
    "The VirtualService host %s has %s routes for sidecars but names no service (Kubernetes "
    "Service or ServiceEntry): as in Istio, sidecars build no listener for it and its "
    "connections are not routed; declare the host with a ServiceEntry and its port.",
)
INGRESS_TLS_UNDER_MUTUAL_TLS = MessageType(
    "SM0004",
    "IngressTlsUnderMutualTls",
    _W,
    "The Sidecar ingress listener on port %s terminates TLS with its own certificate, but no "
    "PeerAuthentication disables mutual TLS there: as in Istio, the port keeps the mesh's "
    "mutual TLS (PERMISSIVE by default) and this tls block is not used. Set a "
    "PeerAuthentication portLevelMtls %s mode DISABLE for the workload to use it.",
)

ALL: tuple[MessageType, ...] = tuple(
    v for v in list(globals().values()) if isinstance(v, MessageType)
)
BY_CODE: dict[str, MessageType] = {m.code: m for m in ALL}
