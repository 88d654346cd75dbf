"""Validation of IstioOperator (install.istio.io)."""

from __future__ import annotations

from sailmesh.config.diagnostics import Report
from sailmesh.config.models.install import IstioOperatorSpec
from sailmesh.config.resource import Resource
from sailmesh.config.validation.mesh_providers import validate_extension_providers

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
