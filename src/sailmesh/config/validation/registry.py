"""Which validator checks which kind: the one table joining the kind table to the rules.

Keyed by (API group, kind) so that ``sailmesh.config.kinds`` stays pure metadata and never
imports validation; the parser asks :func:`validator_for` after typing a resource's body.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sailmesh.config.diagnostics import Report
from sailmesh.config.resource import Resource
from sailmesh.config.validation.destinationrule import validate_destination_rule
from sailmesh.config.validation.envoyfilter import validate_envoy_filter, validate_proxy_config
from sailmesh.config.validation.extensions import validate_wasm_plugin
from sailmesh.config.validation.gateway import validate_gateway
from sailmesh.config.validation.install import validate_istio_operator
from sailmesh.config.validation.kubernetes.objects import (
    validate_config_map,
    validate_namespace,
    validate_secret,
    validate_service,
    validate_service_account,
)
from sailmesh.config.validation.kubernetes.pods import validate_deployment, validate_pod
from sailmesh.config.validation.ratelimit import validate_rate_limit_policy
from sailmesh.config.validation.security.authn import (
    validate_peer_authentication,
    validate_request_authentication,
)
from sailmesh.config.validation.security.authz import validate_authorization_policy
from sailmesh.config.validation.serviceentry import (
    validate_service_entry,
    validate_workload_entry,
    validate_workload_group,
)
from sailmesh.config.validation.sidecar import validate_sidecar
from sailmesh.config.validation.telemetry import validate_telemetry
from sailmesh.config.validation.virtualservice import validate_virtual_service

Validator = Callable[[Resource, Report], None]

_NETWORKING = "networking.istio.io"
_SECURITY = "security.istio.io"

VALIDATORS: Mapping[tuple[str, str], Validator] = {
    (_NETWORKING, "VirtualService"): validate_virtual_service,
    (_NETWORKING, "DestinationRule"): validate_destination_rule,
    (_NETWORKING, "Gateway"): validate_gateway,
    (_NETWORKING, "ServiceEntry"): validate_service_entry,
    (_NETWORKING, "Sidecar"): validate_sidecar,
    (_NETWORKING, "WorkloadEntry"): validate_workload_entry,
    (_NETWORKING, "WorkloadGroup"): validate_workload_group,
    (_NETWORKING, "EnvoyFilter"): validate_envoy_filter,
    (_NETWORKING, "ProxyConfig"): validate_proxy_config,
    (_SECURITY, "PeerAuthentication"): validate_peer_authentication,
    (_SECURITY, "AuthorizationPolicy"): validate_authorization_policy,
    (_SECURITY, "RequestAuthentication"): validate_request_authentication,
    ("telemetry.istio.io", "Telemetry"): validate_telemetry,
    ("extensions.istio.io", "WasmPlugin"): validate_wasm_plugin,
    ("sailmesh.io", "RateLimitPolicy"): validate_rate_limit_policy,
    ("install.istio.io", "IstioOperator"): validate_istio_operator,
    ("", "Namespace"): validate_namespace,
    ("", "ServiceAccount"): validate_service_account,
    ("", "Service"): validate_service,
    ("", "Secret"): validate_secret,
    ("", "ConfigMap"): validate_config_map,
    ("", "Pod"): validate_pod,
    ("apps", "Deployment"): validate_deployment,
}


def validator_for(group: str, kind: str) -> Validator | None:
    """The semantic validator of ``kind`` in API ``group`` (``""`` is Kubernetes' core group)."""
    return VALIDATORS.get((group, kind))
