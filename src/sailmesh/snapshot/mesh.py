"""Mesh-wide settings (the subset of Istio's MeshConfig sailmesh honours), with Istio's defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from sailmesh.config.models.destinationrule import LocalityLoadBalancerSetting

OutboundPolicy = Literal["ALLOW_ANY", "REGISTRY_ONLY"]


@dataclass(frozen=True)
class MeshConfig:
    root_namespace: str = "istio-system"
    trust_domain: str = "cluster.local"
    outbound_traffic_policy: OutboundPolicy = "ALLOW_ANY"
    access_log_file: str = ""
    enable_tracing: bool = True
    default_retry_attempts: int = 2
    default_retry_on: str = (
        "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
    )
    ingress_class: str = "istio"
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
        return cls(
            root_namespace=data.get("rootNamespace", "istio-system"),
            trust_domain=data.get("trustDomain", "cluster.local"),
            outbound_traffic_policy=policy
            if policy in ("ALLOW_ANY", "REGISTRY_ONLY")
            else "ALLOW_ANY",
            access_log_file=data.get("accessLogFile", ""),
            enable_tracing=bool(data.get("enableTracing", True)),
            default_retry_attempts=int(retry.get("attempts", 2)),
            default_retry_on=retry.get("retryOn", cls.default_retry_on),
            locality_lb_setting=_locality_setting(data.get("localityLbSetting")),
        )


def _locality_setting(data: Any) -> LocalityLoadBalancerSetting | None:
    """The mesh-wide setting (Istio's default ``{enabled: true}`` when absent or invalid)."""
    if data is None:
        return LocalityLoadBalancerSetting(enabled=True)
    try:
        return LocalityLoadBalancerSetting.model_validate(data)
    except ValidationError:
        return LocalityLoadBalancerSetting(enabled=True)
