"""The benchmark's mesh: N Services with one WorkloadEntry each, every tenth with a
DestinationRule (subsets) and a VirtualService; and the one-service changes applied to it."""

from __future__ import annotations


def mesh_yaml(services: int) -> str:
    return "---\n".join(doc for i in range(services) for doc in service_docs(i))


def service_docs(i: int) -> list[str]:
    """Service ``svc-<i>`` and its WorkloadEntry; for every tenth, a DestinationRule with a
    subset and a VirtualService routing to it."""
    name = f"svc-{i}"
    docs = [
        f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: default}}\n"
        f"spec:\n  selector: {{app: {name}}}\n  ports: [{{name: http, port: 8080}}]\n",
        f"apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\n"
        f"metadata: {{name: {name}-1, namespace: default}}\n"
        f"spec: {{address: 10.0.{i // 250}.{i % 250 + 1}, "
        f"labels: {{app: {name}, version: v1}}}}\n",
    ]
    if i % 10 == 0:
        docs.append(
            f"apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
            f"metadata: {{name: {name}, namespace: default}}\n"
            f"spec:\n  host: {name}\n  subsets: [{{name: v1, labels: {{version: v1}}}}]\n"
        )
        docs.append(
            f"apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
            f"metadata: {{name: {name}, namespace: default}}\n"
            f"spec:\n  hosts: [{name}]\n  http:\n"
            f"  - route: [{{destination: {{host: {name}, subset: v1}}}}]\n"
        )
    return docs


def vs_change_yaml(name: str) -> str:
    """A new VirtualService for ``name`` (one without) with a timeout and a retry policy."""
    return (
        f"apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
        f"metadata: {{name: {name}, namespace: default}}\n"
        f"spec:\n  hosts: [{name}]\n  http:\n  - timeout: 3s\n"
        f"    retries: {{attempts: 2, perTryTimeout: 1s}}\n"
        f"    route: [{{destination: {{host: {name}}}}}]\n"
    )


def dr_change_yaml(name: str) -> str:
    """The DestinationRule of ``name`` (one the mesh has) with a connection pool added."""
    return (
        f"apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
        f"metadata: {{name: {name}, namespace: default}}\n"
        f"spec:\n  host: {name}\n"
        f"  trafficPolicy: {{connectionPool: {{tcp: {{maxConnections: 100}}}}}}\n"
        f"  subsets: [{{name: v1, labels: {{version: v1}}}}]\n"
    )


VS_LABEL = "VirtualService (routes of all services resent)"
DR_LABEL = "DestinationRule (one service's clusters)"
#: The changes, by the name the parent sends, and what the table calls them.
CHANGE_LABELS = {"vs": VS_LABEL, "vs2": VS_LABEL, "dr": DR_LABEL, "dr2": DR_LABEL}


def change_yaml(name: str, services: int) -> str:
    """The YAML of change ``name`` in a mesh of ``services`` (at least 20): VirtualServices for
    two services in the middle of the mesh that have none, connection pools for the
    DestinationRules of two that have one (every tenth service)."""
    ruled = services // 2 // 10 * 10
    target = {"vs": ruled + 1, "vs2": ruled + 2, "dr": ruled, "dr2": ruled - 10}[name]
    make = vs_change_yaml if name.startswith("vs") else dr_change_yaml
    return make(f"svc-{target}")
