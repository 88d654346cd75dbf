"""Validation of IstioOperator (install.istio.io), and of the meshConfig settings sailmesh reads
for workload identity: ``trustDomain``, ``trustDomainAliases`` and the certificate lifetime
``defaultConfig.proxyMetadata.SECRET_TTL`` (:func:`secret_ttl_problem` is also what the runtime
checks a pod's ``proxy.istio.io/config`` annotation with)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sailmesh.config.diagnostics import Report
from sailmesh.config.models.base import parse_duration_nanos
from sailmesh.config.models.install import IstioOperatorSpec
from sailmesh.config.resource import Resource
from sailmesh.config.validation.mesh_providers import validate_extension_providers
from sailmesh.config.validation.mesh_settings import validate_mesh_settings

#: SPIFFE trust domain names (the rule :mod:`sailmesh.ca.identity` applies when it signs).
_TRUST_DOMAIN = re.compile(r"^[a-z0-9._-]{1,255}$")
#: The longest workload certificate lifetime the CA issues (Istio's default maximum).
MAX_SECRET_TTL = 90 * 24 * 3600.0

PROFILES = (
    "default",
    "demo",
    "minimal",
    "remote",
    "empty",
    "preview",
    "ambient",
    "openshift",
    "openshift-ambient",
    "stable",
    "production",
)


def validate_istio_operator(resource: Resource, report: Report) -> None:
    spec: IstioOperatorSpec = resource.spec
    if spec.profile is not None and spec.profile not in PROFILES:
        report.warn(
            "spec.profile",
            f"profile {spec.profile!r} is not a built-in Istio profile "
            f"({', '.join(PROFILES)}); istioctl would need a profile file of that name",
        )
    gateways = (
        [
            *(
                ("ingressGateways", i, g)
                for i, g in enumerate(spec.components.ingress_gateways or [])
            ),
            *(
                ("egressGateways", i, g)
                for i, g in enumerate(spec.components.egress_gateways or [])
            ),
        ]
        if spec.components
        else []
    )
    for field, index, gateway in gateways:
        if not gateway.name:
            report.error(f"spec.components.{field}[{index}].name", "required field is missing")
    mesh = spec.mesh_config or {}
    validate_extension_providers(
        report, "spec.meshConfig.extensionProviders", mesh.get("extensionProviders")
    )
    if spec.mesh_config:
        _validate_identity(spec.mesh_config, report)
        validate_mesh_settings(spec.mesh_config, report)


def trust_domain_problem(value: Any) -> str | None:
    """Why ``value`` is not a trust domain (lowercase letters, digits, ``.``, ``-``, ``_``)."""
    text = str(value) if isinstance(value, str) else ""
    if not _TRUST_DOMAIN.match(text) or text.startswith(".") or ".." in text:
        return (
            f"{value!r} is not a trust domain: use lowercase letters, digits, '.', '-' and "
            "'_' (e.g. cluster.local)"
        )
    return None


def secret_ttl_problem(value: str) -> str | None:
    """Why ``value`` is not a usable ``SECRET_TTL`` duration (None when it is)."""
    try:
        seconds = parse_duration_nanos(value) / 1e9
    except ValueError as exc:
        return str(exc)
    if seconds < 1:
        return f"SECRET_TTL {value!r} is too short: at least 1s"
    if seconds > MAX_SECRET_TTL:
        return f"SECRET_TTL {value!r} is longer than the CA's limit of 90 days (2160h)"
    return None


def _validate_identity(mesh: Mapping[str, Any], report: Report) -> None:
    base = "spec.meshConfig"
    if "trustDomain" in mesh and (problem := trust_domain_problem(mesh["trustDomain"])):
        report.error(f"{base}.trustDomain", problem)
    aliases = mesh.get("trustDomainAliases")
    if aliases is not None and not isinstance(aliases, list):
        report.error(f"{base}.trustDomainAliases", "must be a list of trust domains")
    for i, alias in enumerate(aliases if isinstance(aliases, list) else []):
        if problem := trust_domain_problem(alias):
            report.error(f"{base}.trustDomainAliases[{i}]", problem)
    default = mesh.get("defaultConfig")
    metadata = default.get("proxyMetadata") if isinstance(default, Mapping) else None
    ttl = metadata.get("SECRET_TTL") if isinstance(metadata, Mapping) else None
    if ttl is not None and (problem := secret_ttl_problem(str(ttl))):
        report.error(f"{base}.defaultConfig.proxyMetadata.SECRET_TTL", problem)
