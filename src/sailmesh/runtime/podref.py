"""Pod references as people type them to ``exec``/``logs``/``proxy-config`` (kubectl habits).

In: a reference and the namespace it is looked up in (``-n``; None: every namespace). Forms:
``NAME`` (a pod, also ``NAME.NAMESPACE`` as in proxy ids), ``NAMESPACE/NAME``, ``pod/NAME``,
``deploy/NAME`` or ``deployment/NAME`` (a pod of that Deployment). A namespace inside the
reference wins over the one it is looked up in. Out: whether a pod plan matches, and the one
line saying that nothing matched (with the namespaces where the name does exist).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sailmesh.runtime.workloads import PodPlan

_DEPLOYMENT = ("deploy", "deployment", "deployments")
_POD = ("pod", "po", "pods")


@dataclass(frozen=True)
class PodRef:
    """A parsed reference: a Deployment or a pod name, and a namespace (None: any)."""

    kind: str  # "deployment" or "pod"
    name: str
    namespace: str | None

    @classmethod
    def parse(cls, ref: str, namespace: str | None = None) -> PodRef:
        """Read ``ref`` looked up in ``namespace`` (see the module docstring)."""
        head, slash, rest = ref.partition("/")
        if not slash:
            return cls("pod", ref, namespace)
        if head.lower() in _DEPLOYMENT:
            return cls("deployment", rest, namespace)
        if head.lower() in _POD:
            return cls("pod", rest, namespace)
        return cls("pod", rest, head)

    def matches(self, plan: PodPlan, *, any_namespace: bool = False) -> bool:
        """Whether ``plan`` is what the reference names (``any_namespace``: ignoring where)."""
        if not any_namespace and self.namespace not in (None, plan.namespace):
            return False
        if self.kind == "deployment":
            return plan.owner == f"Deployment/{self.name}"
        return self.name in (plan.name, f"{plan.name}.{plan.namespace}")

    def not_found(self, plans: Iterable[PodPlan]) -> str:
        """``deployment 'x' not found in namespace 'a'; it exists in namespaces: b, c``."""
        where = f" in namespace {self.namespace!r}" if self.namespace is not None else ""
        elsewhere = sorted({p.namespace for p in plans if self.matches(p, any_namespace=True)})
        hint = f"; it exists in namespaces: {', '.join(elsewhere)}" if elsewhere else ""
        return f"{self.kind} {self.name!r} not found{where}{hint}"
