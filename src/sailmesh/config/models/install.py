"""IstioOperator (install.istio.io/v1alpha1): the installation API some guides include.

sailmesh has no installer; it accepts IstioOperator documents so that guides' YAML loads, reads
``meshConfig`` from them, and leaves Kubernetes-specific settings (``k8s``, ``values``) opaque.
"""

from __future__ import annotations

from typing import Any

from sailmesh.config.models.base import Model


class ComponentSpec(Model):
    """One component (pilot, cni, ztunnel, base, ...)."""

    enabled: bool | None = None
    namespace: str | None = None
    hub: str | None = None
    tag: Any = None
    spec: dict[str, Any] | None = None
    k8s: dict[str, Any] | None = None


class GatewayComponentSpec(ComponentSpec):
    """An ingress or egress gateway component."""

    name: str | None = None
    label: dict[str, str] | None = None


class IstioComponents(Model):
    base: ComponentSpec | None = None
    pilot: ComponentSpec | None = None
    cni: ComponentSpec | None = None
    ztunnel: ComponentSpec | None = None
    istiod_remote: ComponentSpec | None = None
    ingress_gateways: list[GatewayComponentSpec] | None = None
    egress_gateways: list[GatewayComponentSpec] | None = None


class IstioOperatorSpec(Model):
    profile: str | None = None
    install_package_path: str | None = None
    hub: str | None = None
    tag: Any = None
    resource_suffix: str | None = None
    namespace: str | None = None
    revision: str | None = None
    compatibility_version: str | None = None
    default_revision: bool | None = None
    mesh_config: dict[str, Any] | None = None
    components: IstioComponents | None = None
    values: dict[str, Any] | None = None
    unvalidated_values: dict[str, Any] | None = None
