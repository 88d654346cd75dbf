"""security.istio.io models: PeerAuthentication, AuthorizationPolicy, RequestAuthentication.

Field names and shapes follow Istio's API (``security.istio.io/v1`` and ``v1beta1`` share one
schema). Every field is optional, as in proto3; what Istio requires is checked by
``sailmesh.config.validation.security`` with field paths. ``WorkloadSelector`` and
``PolicyTargetReference`` (from ``istio.type.v1beta1``) are shared with the telemetry and
extensions kinds.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sailmesh.config.models.base import DurationStr, Model

# --- istio.type.v1beta1 ------------------------------------------------------------------------


class WorkloadSelector(Model):
    """``selector``: the labels of the pods/VMs a policy applies to."""

    match_labels: dict[str, str] | None = None


class PolicyTargetReference(Model):
    """``targetRef``/``targetRefs``: a Gateway, GatewayClass, Service or ServiceEntry."""

    group: str | None = None
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None


# --- PeerAuthentication ------------------------------------------------------------------------

MtlsMode = Literal["UNSET", "DISABLE", "PERMISSIVE", "STRICT"]


class PeerAuthenticationMutualTLS(Model):
    """``mtls``: UNSET inherits from the namespace/mesh policy (PERMISSIVE when there is none)."""

    mode: MtlsMode = "UNSET"


class PeerAuthenticationSpec(Model):
    selector: WorkloadSelector | None = None
    mtls: PeerAuthenticationMutualTLS | None = None
    port_level_mtls: dict[int, PeerAuthenticationMutualTLS] | None = None


# --- AuthorizationPolicy -----------------------------------------------------------------------

AuthorizationAction = Literal["ALLOW", "DENY", "AUDIT", "CUSTOM"]


class Source(Model):
    """``rules[].from[].source``: peer identities, namespaces and IPs (fields are ANDed)."""

    principals: list[str] | None = None
    not_principals: list[str] | None = None
    request_principals: list[str] | None = None
    not_request_principals: list[str] | None = None
    namespaces: list[str] | None = None
    not_namespaces: list[str] | None = None
    service_accounts: list[str] | None = None
    not_service_accounts: list[str] | None = None
    ip_blocks: list[str] | None = None
    not_ip_blocks: list[str] | None = None
    remote_ip_blocks: list[str] | None = None
    not_remote_ip_blocks: list[str] | None = None
    #: Istio 1.30: the trust domains of the peer identity (``cluster.local``), mTLS only.
    trust_domains: list[str] | None = None
    not_trust_domains: list[str] | None = None


class Operation(Model):
    """``rules[].to[].operation``: hosts, ports, methods and paths (fields are ANDed)."""

    hosts: list[str] | None = None
    not_hosts: list[str] | None = None
    ports: list[str] | None = None
    not_ports: list[str] | None = None
    methods: list[str] | None = None
    not_methods: list[str] | None = None
    paths: list[str] | None = None
    not_paths: list[str] | None = None


class Condition(Model):
    """``rules[].when[]``: an Istio attribute and the values it must (not) have."""

    key: str | None = None
    values: list[str] | None = None
    not_values: list[str] | None = None


class RuleFrom(Model):
    source: Source | None = None


class RuleTo(Model):
    operation: Operation | None = None


class Rule(Model):
    """One rule: matches when one source, one operation and every condition match."""

    from_: list[RuleFrom] | None = Field(default=None, alias="from")
    to: list[RuleTo] | None = None
    when: list[Condition] | None = None


class ExtensionProvider(Model):
    """``provider`` of a CUSTOM policy: an extension provider named in MeshConfig."""

    name: str | None = None


class AuthorizationPolicySpec(Model):
    selector: WorkloadSelector | None = None
    target_ref: PolicyTargetReference | None = None
    target_refs: list[PolicyTargetReference] | None = None
    rules: list[Rule] | None = None
    action: AuthorizationAction = "ALLOW"
    provider: ExtensionProvider | None = None


# --- RequestAuthentication ---------------------------------------------------------------------


class JWTHeader(Model):
    """``fromHeaders[]``: a header carrying the token, with a prefix to strip (e.g. ``Bearer ``)."""

    name: str | None = None
    prefix: str | None = None


class ClaimToHeader(Model):
    """``outputClaimToHeaders[]``: copy a claim of a verified token into a request header."""

    header: str | None = None
    claim: str | None = None


class JWTRule(Model):
    """``jwtRules[]``: how to validate tokens of one issuer.

    ``jwksUri`` may also be written ``jwks_uri`` (Istio's CRD lists both spellings).
    """

    issuer: str | None = None
    audiences: list[str] | None = None
    jwks_uri: str | None = None
    jwks: str | None = None
    from_headers: list[JWTHeader] | None = None
    from_params: list[str] | None = None
    from_cookies: list[str] | None = None
    output_payload_to_header: str | None = None
    forward_original_token: bool | None = None
    output_claim_to_headers: list[ClaimToHeader] | None = None
    space_delimited_claims: list[str] | None = None
    timeout: DurationStr | None = None


class RequestAuthenticationSpec(Model):
    selector: WorkloadSelector | None = None
    target_ref: PolicyTargetReference | None = None
    target_refs: list[PolicyTargetReference] | None = None
    jwt_rules: list[JWTRule] | None = None


__all__ = [
    "AuthorizationAction",
    "AuthorizationPolicySpec",
    "ClaimToHeader",
    "Condition",
    "ExtensionProvider",
    "JWTHeader",
    "JWTRule",
    "MtlsMode",
    "Operation",
    "PeerAuthenticationMutualTLS",
    "PeerAuthenticationSpec",
    "PolicyTargetReference",
    "RequestAuthenticationSpec",
    "Rule",
    "RuleFrom",
    "RuleTo",
    "Source",
    "WorkloadSelector",
]
