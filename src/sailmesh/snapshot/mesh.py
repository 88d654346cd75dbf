"""Mesh-wide settings (the subset of Istio's MeshConfig sailmesh honours), with Istio's defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

OutboundPolicy = Literal["ALLOW_ANY", "REGISTRY_ONLY"]


@dataclass(frozen=True)
class MeshConfig:
    root_namespace: str = "istio-system"
    trust_domain: str = "cluster.local"
    #: Other trust domains whose identities count as this mesh's (a trust-domain migration).
    trust_domain_aliases: tuple[str, ...] = ()
    outbound_traffic_policy: OutboundPolicy = "ALLOW_ANY"
    access_log_file: str = ""
    #: ``accessLogFormat`` (text); empty: Istio's default format.
    access_log_format: str = ""
    enable_tracing: bool = True
    default_retry_attempts: int = 2
    default_retry_on: str = (
        "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
    )
    ingress_class: str = "istio"

    @property
    def trust_domains(self) -> tuple[str, ...]:
        """The trust domain then its aliases, without duplicates or blanks (Istio's
        ``TrustDomainsForValidation``): peers from any of them are accepted."""
        found: list[str] = []
        for domain in (self.trust_domain, *self.trust_domain_aliases):
            if domain and domain not in found:
                found.append(domain)
        return tuple(found)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> MeshConfig:
        """Read Istio's MeshConfig YAML shape (``outboundTrafficPolicy: {mode: ...}``, ...)."""
        data = data or {}
        policy = (data.get("outboundTrafficPolicy") or {}).get("mode", "ALLOW_ANY")
        retry = data.get("defaultHttpRetryPolicy") or {}
        return cls(
            root_namespace=data.get("rootNamespace", "istio-system"),
            trust_domain=data.get("trustDomain") or "cluster.local",
            trust_domain_aliases=tuple(str(a) for a in data.get("trustDomainAliases") or ()),
            outbound_traffic_policy=policy
            if policy in ("ALLOW_ANY", "REGISTRY_ONLY")
            else "ALLOW_ANY",
            access_log_file=data.get("accessLogFile", ""),
            access_log_format=str(data.get("accessLogFormat") or ""),
            enable_tracing=bool(data.get("enableTracing", True)),
            default_retry_attempts=int(retry.get("attempts", 2)),
            default_retry_on=retry.get("retryOn", cls.default_retry_on),
        )
