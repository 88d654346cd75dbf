"""The authorization filters of a proxy: RBAC (HTTP and network) and ext_authz.

In: the AuthorizationPolicies that apply to the proxy (:mod:`~sailmesh.xds.authz.selection`)
and the mesh's extension providers. Out: HTTP filters for an HTTP connection manager and
network filters for a TCP chain, in Istio's order, which is also the evaluation order:

1. CUSTOM: per provider, an RBAC filter whose *shadow* rules are the CUSTOM rules (it marks the
   request when one matches) and the ext_authz filter enabled by that mark
   (:mod:`~sailmesh.xds.authz.ext_authz`). CUSTOM rules whose provider is unknown, whose
   service is not in the registry, or that share a workload with another provider become DENY
   rules instead (fail closed, as Istio). On TCP only gRPC providers are called (Istio ignores
   HTTP providers there).
2. AUDIT: RBAC with action ``LOG``: a matching request is marked for audit logging (dynamic
   metadata ``envoy.common: access_log_hint: true``) and counted in ``rbac.logged``; it is
   never refused.
3. DENY: RBAC with action ``DENY`` (403 for HTTP, connection closed for TCP).
4. ALLOW: RBAC with action ``ALLOW``: once any ALLOW policy applies, a request no ALLOW rule
   matches is refused; an ALLOW policy without rules (``spec: {}``) matches nothing.

Dry-run policies go in the ``shadow_rules`` of the DENY and ALLOW filters (stats prefixed
``istio_dry_run_deny_``/``istio_dry_run_allow_``), evaluated but never enforced. RBAC policy
names are Istio's ``ns[<ns>]-policy[<name>]-rule[<index>]``.
"""

from __future__ import annotations

from collections.abc import Sequence

from envoy.config.listener.v3 import listener_components_pb2 as lc_pb2
from envoy.config.rbac.v3 import rbac_pb2
from envoy.extensions.filters.http.rbac.v3 import rbac_pb2 as http_rbac_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.filters.network.rbac.v3 import rbac_pb2 as net_rbac_pb2

from sailmesh.config.resource import Resource
from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.snapshot.providers import ExtAuthzProvider
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.xds import names, pb
from sailmesh.xds.authz import ext_authz
from sailmesh.xds.authz.rules import never_matches, rule_policy
from sailmesh.xds.authz.selection import AppliedPolicies, applied_policies

EXT_AUTHZ_HTTP = "envoy.filters.http.ext_authz"
EXT_AUTHZ_NETWORK = "envoy.filters.network.ext_authz"
RBAC_HTTP = ext_authz.RBAC_HTTP
RBAC_NETWORK = ext_authz.RBAC_NETWORK
_BAD_CUSTOM_SUFFIX = "-deny-due-to-bad-CUSTOM-action"

Action = rbac_pb2.RBAC.Action


def trust_domains(mesh: MeshConfig) -> tuple[str, ...]:
    """The mesh's trust domain and its aliases (principals match in each)."""
    return mesh.trust_domains


def rbac_rules(
    policies: Sequence[Resource],
    action: int,
    *,
    for_tcp: bool,
    custom: bool = False,
    domains: Sequence[str] = (),
) -> rbac_pb2.RBAC:
    """The RBAC rules of ``policies``, one Envoy policy per rule (``for_tcp``: a connection;
    ``domains``: the mesh's trust domains, see :func:`trust_domains`)."""
    rbac = rbac_pb2.RBAC(action=action)
    allow = action == Action.ALLOW
    for policy in policies:
        rules = policy.spec.rules or []
        for index, rule in enumerate(rules):
            built = rule_policy(
                rule, policy.namespace, for_tcp=for_tcp, allow=allow, trust_domains=domains
            )
            if built is not None:
                name = names.rbac_policy_name(policy.namespace, policy.name, index, custom)
                rbac.policies[name].CopyFrom(built)
        if not rules:
            name = names.rbac_policy_name(policy.namespace, policy.name, 0, custom)
            rbac.policies[name].CopyFrom(never_matches())
    return rbac


def _as_deny(rules: rbac_pb2.RBAC) -> rbac_pb2.RBAC:
    """CUSTOM rules that cannot be sent to a provider, enforced as DENY rules."""
    out = rbac_pb2.RBAC(action=Action.DENY)
    for name, policy in rules.policies.items():
        out.policies[name + _BAD_CUSTOM_SUFFIX].CopyFrom(policy)
    return out


def _by_provider(policies: Sequence[Resource]) -> dict[str, list[Resource]]:
    groups: dict[str, list[Resource]] = {}
    for policy in policies:
        provider = policy.spec.provider
        groups.setdefault(provider.name if provider and provider.name else "", []).append(policy)
    return dict(sorted(groups.items()))


def _http_rbac(
    rules: rbac_pb2.RBAC | None, shadow: rbac_pb2.RBAC | None = None, shadow_prefix: str = ""
) -> hcm_pb2.HttpFilter:
    config = http_rbac_pb2.RBAC(shadow_rules_stat_prefix=shadow_prefix if shadow else "")
    if rules is not None:
        config.rules.CopyFrom(rules)
    if shadow is not None:
        config.shadow_rules.CopyFrom(shadow)
    return hcm_pb2.HttpFilter(name=RBAC_HTTP, typed_config=pb.pack(config))


def _network_rbac(
    rules: rbac_pb2.RBAC | None, shadow: rbac_pb2.RBAC | None = None, shadow_prefix: str = ""
) -> lc_pb2.Filter:
    config = net_rbac_pb2.RBAC(
        stat_prefix=names.TCP_RBAC_STAT_PREFIX,
        shadow_rules_stat_prefix=shadow_prefix if shadow else "",
    )
    if rules is not None:
        config.rules.CopyFrom(rules)
    if shadow is not None:
        config.shadow_rules.CopyFrom(shadow)
    return lc_pb2.Filter(name=RBAC_NETWORK, typed_config=pb.pack(config))


def _custom_groups(
    applied: AppliedPolicies, snapshot: MeshSnapshot, for_tcp: bool
) -> list[tuple[rbac_pb2.RBAC, ExtAuthzProvider | None, str | None]]:
    """Per provider the CUSTOM policies name: their rules (as DENY rules), the provider and
    its host (``None`` when the provider is unknown, unreachable or one of several: then the
    matching requests are denied)."""
    groups = _by_provider(applied.custom)
    domains = trust_domains(snapshot.mesh)
    out = []
    for name, policies in groups.items():
        rules = rbac_rules(policies, Action.DENY, for_tcp=for_tcp, custom=True, domains=domains)
        provider = snapshot.mesh.ext_authz_provider(name) if len(groups) == 1 else None
        host = ext_authz.provider_host(provider, snapshot) if provider else None
        out.append((rules, provider, host))
    return out


def _custom_http(applied: AppliedPolicies, snapshot: MeshSnapshot) -> list[hcm_pb2.HttpFilter]:
    out: list[hcm_pb2.HttpFilter] = []
    for rules, provider, host in _custom_groups(applied, snapshot, for_tcp=False):
        if provider is None or host is None:
            out.append(_http_rbac(_as_deny(rules)))
            continue
        out.append(_http_rbac(None, rules, names.EXT_AUTHZ_SHADOW_PREFIX))
        config = ext_authz.http_ext_authz(provider, host)
        out.append(hcm_pb2.HttpFilter(name=EXT_AUTHZ_HTTP, typed_config=pb.pack(config)))
    return out


def _custom_network(applied: AppliedPolicies, snapshot: MeshSnapshot) -> list[lc_pb2.Filter]:
    out: list[lc_pb2.Filter] = []
    for rules, provider, host in _custom_groups(applied, snapshot, for_tcp=True):
        if provider is None or host is None:
            out.append(_network_rbac(_as_deny(rules)))
            continue
        config = ext_authz.network_ext_authz(provider, host)
        if config is None:  # an HTTP provider: Istio does not call it for TCP connections
            continue
        out.append(_network_rbac(None, rules, names.EXT_AUTHZ_SHADOW_PREFIX))
        out.append(lc_pb2.Filter(name=EXT_AUTHZ_NETWORK, typed_config=pb.pack(config)))
    return out


def _enforced(
    applied: AppliedPolicies, for_tcp: bool, domains: Sequence[str]
) -> list[tuple[rbac_pb2.RBAC | None, rbac_pb2.RBAC | None, str]]:
    """(rules, shadow rules, shadow stat prefix) of the AUDIT, DENY and ALLOW filters."""
    out: list[tuple[rbac_pb2.RBAC | None, rbac_pb2.RBAC | None, str]] = []
    if applied.audit:
        audit = rbac_rules(applied.audit, Action.LOG, for_tcp=for_tcp, domains=domains)
        out.append((audit, None, ""))
    for action, enforced, dry, prefix in (
        (Action.DENY, applied.deny, applied.deny_dry_run, names.DRY_RUN_DENY_PREFIX),
        (Action.ALLOW, applied.allow, applied.allow_dry_run, names.DRY_RUN_ALLOW_PREFIX),
    ):
        if not (enforced or dry):
            continue
        rules = rbac_rules(enforced, action, for_tcp=for_tcp, domains=domains) if enforced else None
        shadow = rbac_rules(dry, action, for_tcp=for_tcp, domains=domains) if dry else None
        out.append((rules, shadow, prefix))
    return out


def http_filters(snapshot: MeshSnapshot, proxy: Proxy) -> list[hcm_pb2.HttpFilter]:
    """Authorization HTTP filters for requests to ``proxy`` (empty: no policy applies)."""
    applied = applied_policies(snapshot, proxy)
    if applied.empty:
        return []
    out = _custom_http(applied, snapshot)
    domains = trust_domains(snapshot.mesh)
    out += [_http_rbac(*parts) for parts in _enforced(applied, False, domains)]
    return out


def network_filters(snapshot: MeshSnapshot, proxy: Proxy) -> list[lc_pb2.Filter]:
    """Authorization network filters for TCP connections to ``proxy``'s workload."""
    applied = applied_policies(snapshot, proxy)
    if applied.empty:
        return []
    out = _custom_network(applied, snapshot)
    domains = trust_domains(snapshot.mesh)
    out += [_network_rbac(*parts) for parts in _enforced(applied, True, domains)]
    return out
