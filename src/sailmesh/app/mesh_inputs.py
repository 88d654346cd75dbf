"""A running mesh as analysis inputs: its applied configuration and its pods, as resources.

In: the items of ``GET /v1/config`` and the pod rows of ``GET /v1/runtime/status`` (the local
runtime's pods, with labels, annotations, service account and containers). Out: resources
(config objects plus one ``Pod`` per running or failed pod, as a cluster lists its pods) and
the problems validation finds in them, without file locations: they come from the mesh, as
``istioctl analyze`` against a cluster prints no file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from sailmesh.app.redact import REDACTED_ANNOTATION
from sailmesh.config.diagnostics import Problem
from sailmesh.config.load import load_text
from sailmesh.config.resource import Resource

#: The name of the proxy container in a pod the runtime injected (Istio's).
PROXY_CONTAINER = "istio-proxy"


def pod_manifest(row: Mapping[str, Any]) -> dict[str, Any]:
    """A ``v1/Pod`` for one pod of the runtime's status: its labels and its containers (the
    ones running, or for a pod that could not start, the proxy its plan asked for)."""
    containers = [str(c["name"]) for c in row.get("containers") or []]
    if not containers and (row.get("sidecar") or row.get("gateway")):
        containers = [PROXY_CONTAINER]
    meta: dict[str, Any] = {"name": row["name"], "namespace": row["namespace"]}
    if row.get("labels"):
        meta["labels"] = dict(row["labels"])
    if row.get("annotations"):
        meta["annotations"] = dict(row["annotations"])
    kind, _, owner = str(row.get("owner") or "").partition("/")
    if kind == "Deployment" and owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": kind, "name": owner}]
    spec: dict[str, Any] = {"containers": [{"name": c, "image": c} for c in containers]}
    if row.get("serviceAccount"):
        spec["serviceAccountName"] = row["serviceAccount"]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def _loadable(item: dict[str, Any]) -> dict[str, Any]:
    """A Secret whose values the API withheld keeps its key names, with empty values (the
    annotation tells analyzers to check key presence only)."""
    annotations = (item.get("metadata") or {}).get("annotations") or {}
    if item.get("kind") != "Secret" or REDACTED_ANNOTATION not in annotations:
        return item
    keys = [*(item.get("data") or {}), *(item.get("stringData") or {})]
    out = {k: v for k, v in item.items() if k not in ("data", "stringData")}
    out["data"] = dict.fromkeys(keys, "")
    return out


def mesh_resources(
    items: Iterable[Mapping[str, Any]], pods: Iterable[Mapping[str, Any]] = ()
) -> tuple[list[Resource], list[Problem]]:
    """The applied objects and the pods as resources, and validation's problems with them."""
    documents = [_loadable(dict(i)) for i in items] + [pod_manifest(p) for p in pods]
    if not documents:
        return [], []
    result = load_text(yaml.safe_dump_all(documents, sort_keys=False), "<mesh>")
    resources = [dataclasses.replace(r, source=None, document=None) for r in result.resources]
    withheld = {
        (r.namespace, r.name)
        for r in resources
        if r.kind == "Secret" and REDACTED_ANNOTATION in (r.meta.annotations or {})
    }
    problems = [  # the values of withheld Secrets are placeholders: their checks say nothing
        dataclasses.replace(p, source=None)
        for p in result.problems
        if p.ref is None or p.ref.kind != "Secret" or (p.ref.namespace, p.ref.name) not in withheld
    ]
    return resources, problems
