"""Waiting until a config change is in force on every proxy of a local mesh.

In: a running :class:`~e2e_support.localmesh.LocalMeshThread`. Out: returns once the control
plane pushed the change, every proxy acknowledged it, and no proxy still drains filter chains
of an old listener: a pooled connection keeps the chain (and so the HTTP connection manager
config) it was accepted on until the drain ends (``--drain-time-s 2`` for the runtime's
Envoys), so requests right after an acknowledgement can still see the old config.
"""

from __future__ import annotations

from e2e_support.localmesh import LocalMeshThread
from e2e_support.proxy import wait_for
from sailmesh.runtime.local import RunningPod

DRAIN_STATS = "/stats?filter=^listener_manager.total_(filter_chains|listeners)_draining$"


def draining(mesh: LocalMeshThread, pod: RunningPod) -> bool:
    """Whether ``pod``'s Envoy still drains an old listener or filter chain."""
    query = {"pod": pod.plan.name, "namespace": pod.plan.namespace, "path": DRAIN_STATS}
    body = mesh.mesh.runtime_call("admin", query)["body"]
    return any(line.split(":")[-1].strip() != "0" for line in body.splitlines())


def synced(mesh: LocalMeshThread, timeout: float = 20.0) -> None:
    """Wait until the last change is in force on every proxy (see the module doc)."""
    assert mesh.mesh.cp is not None and mesh.mesh.runtime is not None
    assert mesh.call(mesh.mesh.cp.wait_synced(timeout=timeout)), "proxies did not acknowledge"
    proxies = [pod for pod in mesh.mesh.runtime.pods.values() if pod.plan.inject]
    wait_for(lambda: not any(draining(mesh, pod) for pod in proxies), 10, "old listeners to drain")
