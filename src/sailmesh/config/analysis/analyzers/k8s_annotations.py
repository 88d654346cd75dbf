"""Istio annotations on Kubernetes objects (Istio's ``annotations.K8sAnalyzer`` and the alpha
analyzer ``istioctl x precheck`` runs).

In: Namespaces, Services, Pods and Deployments with annotations in Istio's domain (see
:mod:`.annotation_table`); when files are analyzed (no running pods), also a Deployment's pod
template annotations, checked as the Pod's they become. Out, per annotation:

- IST0108 UnknownAnnotation: not an Istio annotation;
- IST0135 DeprecatedAnnotation (Info): deprecated (not for ``sidecar.istio.io/inject`` when the
  object also has the label of that name, its replacement);
- IST0107 MisplacedAnnotation: on a kind it does not belong on;
- IST0125 InvalidAnnotation: a value the injector cannot use (:mod:`.annotation_values`);
- IST0136 AlphaAnnotation (Info, opt-in analyzer): an alpha-phase feature; annotations Istio
  sets itself are skipped, as are the capture ones on a pod with no ``istio-init`` container
  (set by Istio's CNI plugin).

Messages point at the annotation's own line.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sailmesh.config.analysis import messages as msg
from sailmesh.config.analysis.analyzers import annotation_table as table
from sailmesh.config.analysis.analyzers.annotation_values import problem as value_problem
from sailmesh.config.analysis.context import AnalysisContext
from sailmesh.config.analysis.framework import Analyzer
from sailmesh.config.diagnostics import Problem, Source
from sailmesh.config.resource import Resource

KINDS = ("Namespace", "Service", "Pod", "Deployment")
INJECT = "sidecar.istio.io/inject"
#: Set on every pod by Istio's CNI plugin (no ``istio-init`` container): not reported as alpha.
SET_BY_CNI = frozenset(
    {
        "sidecar.istio.io/interceptionMode",
        "traffic.sidecar.istio.io/includeInboundPorts",
        "traffic.sidecar.istio.io/excludeInboundPorts",
        "traffic.sidecar.istio.io/includeOutboundIPRanges",
    }
)


class _Place:
    """Where annotations sit in an object: its metadata, or a Deployment's pod template."""

    def __init__(self, resource: Resource, template: bool = False) -> None:
        self.resource = resource
        self.template = template
        meta: Any = resource.meta
        if template:
            spec: Any = resource.spec
            meta = spec.template.metadata if spec is not None and spec.template else None
        self.annotations: dict[str, str] = dict(meta.annotations or {}) if meta else {}
        self.labels: dict[str, str] = dict(meta.labels or {}) if meta else {}
        self.kind = "Pod" if template else resource.kind
        self.prefix = "spec.template.metadata" if template else "metadata"

    def path(self, name: str) -> str:
        return f'{self.prefix}.annotations["{name}"]'

    def source(self, name: str) -> Source | None:
        """The line of the annotation's key, else of the object."""
        r = self.resource
        if r.source is None:
            return None
        node = r.document.node if r.document is not None else None
        for step in [*self.prefix.split("."), "annotations", name]:
            found = _child(node, step)
            if found is None:
                return r.source_at(f"{self.prefix}.annotations")
            line, node = found
        return Source(r.source.file, line)

    def report(self, kind: msg.MessageType, name: str, *args: Any) -> Problem:
        return Problem(
            kind.level,
            kind.template % (name, *args),
            self.path(name),
            self.resource.ref,
            self.source(name),
            kind.code,
        )


def _child(node: Any, key: str) -> tuple[int, Any] | None:
    for k, v in getattr(node, "value", None) or []:
        if getattr(k, "value", None) == key:
            return k.start_mark.line + 1, v
    return None


def _places(ctx: AnalysisContext) -> Iterator[_Place]:
    for kind in KINDS:
        for r in ctx.of_kind(kind):
            yield _Place(r)
            if kind == "Deployment" and not ctx.live:
                yield _Place(r, template=True)


def _check(place: _Place, name: str, value: str) -> Iterator[Problem]:
    known = table.BY_NAME.get(name)
    if known is None:
        yield place.report(msg.UNKNOWN_ANNOTATION, name)
        return
    if known.deprecated and not (name == INJECT and INJECT in place.labels):
        extra = table.DEPRECATION_EXTRA.get(name, "")
        yield place.report(msg.DEPRECATED_ANNOTATION, name, extra)
    if known.anywhere:
        return
    if place.kind not in known.kinds:
        yield place.report(msg.MISPLACED_ANNOTATION, name, ", ".join(known.kinds))
        return
    wrong = value_problem(name, value)
    if wrong is not None:
        yield place.report(msg.INVALID_ANNOTATION, name, wrong)


def _annotations(ctx: AnalysisContext) -> Iterator[Problem]:
    for place in _places(ctx):
        for name, value in sorted(place.annotations.items()):
            if table.in_istio_domain(name):
                yield from _check(place, name, value)


def _cni_pod(place: _Place) -> bool:
    """A pod without Istio's ``istio-init`` container: its capture annotations come from CNI."""
    if place.kind != "Pod":
        return False
    spec: Any = place.resource.spec
    pod = spec.template.spec if place.template and spec.template else spec
    inits = getattr(pod, "init_containers", None) or []
    return not any(getattr(c, "name", None) == "istio-init" for c in inits)


def _alpha(ctx: AnalysisContext) -> Iterator[Problem]:
    for place in _places(ctx):
        cni = _cni_pod(place)
        for name in sorted(place.annotations):
            known = table.BY_NAME.get(name) if table.in_istio_domain(name) else None
            if known is None or known.status is not table.Status.ALPHA:
                continue
            if name in table.SET_BY_ISTIO or (cni and name in SET_BY_CNI):
                continue
            yield place.report(msg.ALPHA_ANNOTATION, name)


K8S_ANNOTATIONS = Analyzer(
    "annotations.K8sAnalyzer",
    "Checks for misplaced and invalid Istio annotations in Kubernetes resources",
    _annotations,
    ("IST0107", "IST0108", "IST0125", "IST0135"),
)

ALPHA_ANNOTATIONS = Analyzer(
    "annotations.AlphaAnalyzer",
    "Checks for alpha Istio annotations in Kubernetes resources (opt-in, as in istioctl: "
    "x precheck runs it)",
    _alpha,
    ("IST0136",),
)

ANALYZERS = (K8S_ANNOTATIONS,)
