"""Security policies: selectors that match no workload, and unknown source namespaces."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from sailmesh.config.analysis import messages as msg
from sailmesh.config.analysis.analyzers._util import match_labels, selector_path
from sailmesh.config.analysis.context import AnalysisContext, selector_string
from sailmesh.config.analysis.framework import Analyzer
from sailmesh.config.diagnostics import Problem
from sailmesh.config.resource import Resource

_SELECTOR_FIELD = "spec.selector.matchLabels"


def _no_workloads(ctx: AnalysisContext, policy: Resource) -> Problem | None:
    """IST0127 when a policy's selector (or namespace, for a namespace-wide policy) has no pods."""
    spec = policy.spec
    if getattr(spec, "target_ref", None) or getattr(spec, "target_refs", None):
        return None
    labels = match_labels(spec.selector)
    mesh_wide = policy.namespace == ctx.root_namespace
    if not labels:
        if mesh_wide or ctx.workloads_matching(None, policy.namespace):
            return None
        return msg.NO_MATCHING_WORKLOADS_FOUND.at(policy, "", path="metadata.name")
    pods = ctx.workloads_matching(labels, None if mesh_wide else policy.namespace)
    if pods:
        return None
    path = selector_path(policy, _SELECTOR_FIELD, labels)
    return msg.NO_MATCHING_WORKLOADS_FOUND.at(policy, selector_string(labels), path=path)


def _namespace_known(ctx: AnalysisContext, pattern: str) -> bool:
    return any(fnmatch.fnmatchcase(ns, pattern) for ns in ctx.namespaces)


def _authorization_policies(ctx: AnalysisContext) -> Iterator[Problem]:
    check_namespaces = bool(ctx.of_kind("Namespace"))
    for ap in ctx.of_kind("AuthorizationPolicy"):
        if ctx.workloads:
            found = _no_workloads(ctx, ap)
            if found is not None:
                yield found
        if not check_namespaces:
            continue
        for i, rule in enumerate(ap.spec.rules or []):
            for j, frm in enumerate(rule.from_ or []):
                source = frm.source
                if source is None:
                    continue
                for field, yaml_field in (
                    ("namespaces", "namespaces"),
                    ("not_namespaces", "notNamespaces"),
                ):
                    for k, ns in enumerate(getattr(source, field, None) or []):
                        if not _namespace_known(ctx, ns):
                            path = f"spec.rules[{i}].from[{j}].source.{yaml_field}[{k}]"
                            yield msg.REFERENCED_RESOURCE_NOT_FOUND.at(
                                ap, "namespace", ns, path=path
                            )


AUTHORIZATION_POLICIES = Analyzer(
    "auth.AuthorizationPoliciesAnalyzer",
    "Checks the correctness of authorization policies in the mesh",
    _authorization_policies,
    ("IST0101", "IST0127"),
)


def _authentication_selectors(ctx: AnalysisContext) -> Iterator[Problem]:
    if not ctx.workloads:
        return
    for kind in ("PeerAuthentication", "RequestAuthentication"):
        for policy in ctx.of_kind(kind):
            if match_labels(policy.spec.selector):
                found = _no_workloads(ctx, policy)
                if found is not None:
                    yield found


AUTHENTICATION_SELECTORS = Analyzer(
    "security.SelectorAnalyzer",
    "Checks that PeerAuthentication and RequestAuthentication selectors match workloads",
    _authentication_selectors,
    ("IST0127",),
)

ANALYZERS = (AUTHORIZATION_POLICIES, AUTHENTICATION_SELECTORS)
