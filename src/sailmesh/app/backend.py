"""The control-plane API's backend: what each API route does, over a control plane and,
when one runs, the local runtime.

In: YAML text to apply or delete, queries. Out: JSON-ready dicts; failures are
:class:`~sailmesh.errors.ApiError` with an HTTP status (422 invalid config, 409 the store
refused the batch, 404 not found). Nothing is applied from a batch with an error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from sailmesh import __version__
from sailmesh.app.identity import MeshIdentity, cacerts_secret_warnings
from sailmesh.app.redact import withhold_secret_values
from sailmesh.app.rootrotation import DEFAULT_OVERLAP, rotate_root
from sailmesh.config.diagnostics import Level
from sailmesh.config.load import load_text
from sailmesh.config.resource import Resource
from sailmesh.config.store import NotFoundError, StoreError
from sailmesh.config.unenforced import apply_warning, not_enforced_problems
from sailmesh.controlplane.server import ControlPlane
from sailmesh.errors import ApiError


class RuntimeBackend(Protocol):
    """What a local runtime answers through the API (``/v1/runtime/<what>``)."""

    def runtime_call(self, what: str, query: dict[str, str]) -> dict[str, Any]: ...


class MeshApi:
    """Implements :class:`sailmesh.app.api.Backend`. Thread-safe (the store and the ADS status
    views are)."""

    def __init__(
        self,
        cp: ControlPlane,
        runtime: RuntimeBackend | None = None,
        identity: MeshIdentity | None = None,
    ) -> None:
        self.cp = cp
        self.runtime = runtime
        self.identity = identity
        #: Called by ``POST /v1/shutdown``; None: the process cannot be shut down this way.
        self.on_shutdown: Callable[[], None] | None = None

    def version(self) -> dict[str, Any]:
        return {"version": __version__, "revision": self.cp.store.revision}

    def apply_yaml(self, text: str, file: str, namespace: str) -> dict[str, Any]:
        result = load_text(text, file, namespace)
        problems = [str(p) for p in result.problems]
        if not result.ok:
            raise ApiError(
                422, {"error": "invalid configuration; nothing was applied", "problems": problems}
            )
        try:
            outcomes = self.cp.store.apply(result.resources)
        except StoreError as exc:
            raise ApiError(409, {"error": str(exc)}) from exc
        return {
            "outcomes": [str(o) for o in outcomes],
            "warnings": [str(p) for p in result.problems if p.level is Level.WARNING]
            + self._unknown_namespace_warnings(result.resources)
            + cacerts_secret_warnings(result.resources)
            + [apply_warning(p) for p in not_enforced_problems(result.resources)],
        }

    def _unknown_namespace_warnings(self, resources: list[Resource]) -> list[str]:
        """Objects applied to a namespace no Namespace object declares are kept (namespaces are
        implicit here, unlike in Kubernetes), but a typo there silently selects nothing: say so."""
        known = {"default", "istio-system", self.cp.mesh_config().root_namespace}
        known.update(r.name for r in self.cp.store.list(kind="Namespace"))
        known.update(r.name for r in resources if r.kind == "Namespace")
        unknown = sorted({r.namespace for r in resources if r.namespace} - known)
        return [
            f"warning: namespace {ns!r} has no Namespace object; the objects applied there "
            "were stored and affect only workloads in that namespace (a typo?)"
            for ns in unknown
        ]

    def delete_yaml(
        self, text: str, file: str, namespace: str, ignore_not_found: bool
    ) -> dict[str, Any]:
        result = load_text(text, file, namespace)
        keys = [r.key for r in result.resources]
        if not result.ok and not keys:
            problems = [str(p) for p in result.problems]
            raise ApiError(422, {"error": "cannot read objects to delete", "problems": problems})
        try:
            outcomes = self.cp.store.delete(keys, ignore_not_found=ignore_not_found)
        except NotFoundError as exc:
            raise ApiError(404, {"error": str(exc)}) from exc
        return {"outcomes": [str(o) for o in outcomes]}

    def get_config(
        self, kind: str | None, namespace: str | None, name: str | None
    ) -> dict[str, Any]:
        items = [
            r
            for r in self.cp.store.list(kind=kind, namespace=namespace)
            if name is None or r.name == name
        ]
        # Secrets come back with key names and sizes only: private keys never leave the store
        # through the API (gateways get them over their own ADS stream).
        return {"items": [withhold_secret_values(r.to_dict()) for r in items]}

    def proxies(self) -> dict[str, Any]:
        """Sync status of every connected proxy (``sailctl proxy-status``); SDS as the pod's
        node agent, which serves it, reports it."""
        records = self.cp.proxy_status()
        pods = self.identity.pods if self.identity is not None else None
        states = pods.sds_states() if pods is not None else {}
        for record in records:
            pod, _, namespace = _node_pod(record["node"]).rpartition(".")
            if (namespace, pod) in states:
                record["types"]["SDS"] = {"state": states[(namespace, pod)]}
        return {"proxies": records, "version": __version__}

    def runtime_call(self, what: str, query: dict[str, str]) -> dict[str, Any]:
        if self.runtime is None:
            raise ApiError(
                404, {"error": "no local runtime in this control plane (sailctl up runs one)"}
            )
        return self.runtime.runtime_call(what, query)

    def traces(self, query: dict[str, str]) -> dict[str, Any]:
        """Recent traces (``service``, ``min_duration_ms``, ``limit``) or, with ``trace_id``,
        one trace with its spans (404 when the store does not hold it)."""
        store = self.cp.traces
        if query.get("trace_id"):
            found = store.get_trace(query["trace_id"])
            if found is None:
                raise ApiError(404, {"error": f"no trace {query['trace_id']} (kept: the "
                                              f"{store.max_traces} most recent)"})  # fmt: skip
            return {"trace": found}
        try:
            min_ms = float(query["min_duration_ms"]) if query.get("min_duration_ms") else None
            limit = int(query.get("limit") or 20)
        except ValueError:
            raise ApiError(400, {"error": "min_duration_ms and limit must be numbers"}) from None
        traces = store.list_traces(query.get("service") or None, min_ms, max(limit, 1))
        return {"traces": traces, "store": store.stats()}

    def ca_status(self) -> dict[str, Any]:
        """The mesh's CA, trust bundle, pods' certificates and expiry warnings (no key)."""
        return self._identity().status()

    def rotate_root(self, overlap: float | None, cacerts: str) -> dict[str, Any]:
        """Rotate the root (``overlap`` seconds, None: the default; ``cacerts``: a plug-in CA
        directory, "" for a new self-signed root)."""
        seconds = DEFAULT_OVERLAP if overlap is None else overlap
        return rotate_root(self._identity(), seconds, Path(cacerts) if cacerts else None)

    def _identity(self) -> MeshIdentity:
        if self.identity is None:
            raise ApiError(
                404, {"error": "no CA in this control plane (sailctl up runs a mesh with one)"}
            )
        return self.identity

    def shutdown(self) -> dict[str, Any]:
        if self.on_shutdown is None:
            raise ApiError(400, {"error": "this control plane cannot be shut down through the API"})
        self.on_shutdown()
        return {"status": "shutting down"}


def _node_pod(node_id: str) -> str:
    """``<pod>.<namespace>`` of an Istio node id (``sidecar~<ip>~<pod>.<ns>~<domain>``)."""
    parts = node_id.split("~")
    return parts[2] if len(parts) > 2 else ""
