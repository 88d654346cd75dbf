"""Pod plans from small manifests, for the runtime's unit tests."""

from __future__ import annotations

from e2e_support.localmesh import load
from sailmesh.runtime.workloads import PodPlan, plan_pods


def deployment(
    name: str,
    *,
    namespace: str = "default",
    labels: str = "",
    annotations: str = "",
    replicas: int = 1,
    containers: str = "[{name: app, command: [sleep, '9'], ports: [{containerPort: 9080}]}]",
) -> str:
    """A Deployment manifest (``labels``/``annotations``: extra YAML flow-map entries)."""
    extra_labels = f", {labels}" if labels else ""
    meta_annotations = f"      annotations: {{{annotations}}}\n" if annotations else ""
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
        f"spec:\n  replicas: {replicas}\n  selector: {{matchLabels: {{app: {name}}}}}\n"
        f"  template:\n    metadata:\n{meta_annotations}"
        f"      labels: {{app: {name}{extra_labels}}}\n"
        f"    spec: {{serviceAccountName: sa-{name}, containers: {containers}}}\n"
    )


def namespace(name: str, injection: str | None = "enabled") -> str:
    labels = f"{{istio-injection: {injection}}}" if injection else "{}"
    return f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {labels}}}\n"


def plans(*texts: str) -> list[PodPlan]:
    return plan_pods([r for text in texts for r in load(text)])


def plan(*texts: str) -> PodPlan:
    (only,) = plans(*texts)
    return only
