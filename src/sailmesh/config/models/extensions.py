"""extensions.istio.io models: WasmPlugin (``v1alpha1``).

A WasmPlugin adds a WebAssembly filter to selected proxies; ``phase`` and ``priority`` place it
in the filter chain. ``pluginConfig`` is free-form and handed to the plugin as is. Semantic
checks live in ``sailmesh.config.validation.extensions``.
"""

from __future__ import annotations

from typing import Any, Literal

from sailmesh.config.models.base import Model
from sailmesh.config.models.security import PolicyTargetReference, WorkloadSelector

PluginPhase = Literal["UNSPECIFIED_PHASE", "AUTHN", "AUTHZ", "STATS"]
PullPolicy = Literal["UNSPECIFIED_POLICY", "IfNotPresent", "Always"]
FailStrategy = Literal["FAIL_CLOSE", "FAIL_OPEN", "FAIL_RELOAD"]
PluginType = Literal["UNSPECIFIED_PLUGIN_TYPE", "HTTP", "NETWORK"]
TrafficMode = Literal["UNDEFINED", "CLIENT", "SERVER", "CLIENT_AND_SERVER"]
EnvValueSource = Literal["INLINE", "HOST"]


class EnvVar(Model):
    """``vmConfig.env[]``: an inline value, or (``valueFrom: HOST``) the proxy's own variable."""

    name: str | None = None
    value_from: EnvValueSource = "INLINE"
    value: str | None = None


class VmConfig(Model):
    env: list[EnvVar] | None = None


class PortSelector(Model):
    number: int | None = None


class TrafficSelector(Model):
    """``match[]``: traffic direction and destination ports the plugin sees."""

    mode: TrafficMode = "UNDEFINED"
    ports: list[PortSelector] | None = None


class WasmPluginSpec(Model):
    selector: WorkloadSelector | None = None
    target_ref: PolicyTargetReference | None = None
    target_refs: list[PolicyTargetReference] | None = None
    url: str | None = None
    sha256: str | None = None
    image_pull_policy: PullPolicy = "UNSPECIFIED_POLICY"
    image_pull_secret: str | None = None
    verification_key: str | None = None
    plugin_config: dict[str, Any] | None = None
    plugin_name: str | None = None
    phase: PluginPhase = "UNSPECIFIED_PHASE"
    priority: int | None = None
    fail_strategy: FailStrategy = "FAIL_CLOSE"
    vm_config: VmConfig | None = None
    match: list[TrafficSelector] | None = None
    type: PluginType = "UNSPECIFIED_PLUGIN_TYPE"


__all__ = [
    "EnvValueSource",
    "EnvVar",
    "FailStrategy",
    "PluginPhase",
    "PluginType",
    "PortSelector",
    "PullPolicy",
    "TrafficMode",
    "TrafficSelector",
    "VmConfig",
    "WasmPluginSpec",
]
