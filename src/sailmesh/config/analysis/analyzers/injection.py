"""Sidecar injection labels on namespaces and live pods without their proxy (Istio's injection checks).

- IST0102 (Info): a namespace with neither ``istio-injection`` nor ``istio.io/rev``: its pods
  run without a sidecar (sailmesh injects as Istio does, on the namespace label);
- IST0123: a namespace with both labels;
- IST0103: a running pod (live analysis only) in an injected namespace, injection not turned
  off for it, that has no ``istio-proxy`` container.

System namespaces and the root namespace are skipped, as Istio skips them.
"""

from __future__ import annotations

from collections.abc import Iterator

from sailmesh.config.analysis import messages as msg
from sailmesh.config.analysis.context import AnalysisContext
from sailmesh.config.analysis.framework import Analyzer
from sailmesh.config.diagnostics import Problem

INJECTION_LABEL = "istio-injection"
REVISION_LABEL = "istio.io/rev"
INJECT_ANNOTATION = "sidecar.istio.io/inject"
PROXY_CONTAINER = "istio-proxy"
SYSTEM_NAMESPACES = frozenset(
    {"kube-system", "kube-public", "kube-node-lease", "local-path-storage"}
)


def injected_namespaces(ctx: AnalysisContext) -> set[str]:
    """Namespaces whose pods get a sidecar (an enabled legacy label or a revision label)."""
    out = set()
    for ns in ctx.of_kind("Namespace"):
        legacy = ns.labels.get(INJECTION_LABEL, "")
        if REVISION_LABEL in ns.labels or legacy == "enabled":
            out.add(ns.name)
    return out


def _namespaces(ctx: AnalysisContext) -> Iterator[Problem]:
    for ns in ctx.of_kind("Namespace"):
        if ns.name == ctx.root_namespace or ns.name in SYSTEM_NAMESPACES:
            continue
        legacy = ns.labels.get(INJECTION_LABEL, "")
        revision = REVISION_LABEL in ns.labels
        if not legacy and not revision:
            yield msg.NAMESPACE_NOT_INJECTED.at(ns, ns.name, ns.name, path="metadata.name")
        elif legacy and revision:
            labels = f"[{INJECTION_LABEL} {REVISION_LABEL}]"
            yield msg.NAMESPACE_MULTIPLE_INJECTION_LABELS.at(ns, labels, path="metadata.name")


def _pods(ctx: AnalysisContext) -> Iterator[Problem]:
    if not ctx.live:  # a manifest's Pod never lists the proxy: injection adds it when it runs
        return
    injected = injected_namespaces(ctx)
    for pod in ctx.of_kind("Pod"):
        if pod.namespace not in injected:
            continue
        opt = pod.labels.get(INJECT_ANNOTATION, pod.annotations.get(INJECT_ANNOTATION, ""))
        spec = pod.spec
        if opt.lower() == "false" or (spec is not None and spec.host_network):
            continue
        names = {c.name for c in (spec.containers if spec is not None else None) or []}
        if PROXY_CONTAINER not in names:
            yield msg.POD_MISSING_PROXY.at(pod, f"{pod.namespace}/{pod.name}")


INJECTION = Analyzer(
    "injection.Analyzer",
    "Checks conditions related to Istio sidecar injection",
    lambda ctx: [*_namespaces(ctx), *_pods(ctx)],
    ("IST0102", "IST0103", "IST0123"),
)

ANALYZERS = (INJECTION,)
