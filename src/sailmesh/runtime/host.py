"""The runtime side of a local mesh: pods, their sandboxes and the 127.0.0.1 forwarders.

:class:`RuntimeHost` picks the sandbox mode and with it the run's
:class:`~sailmesh.runtime.sandbox.strategy.Sandbox` strategy, owns the run's names
(namespaces, links, work dirs), reconciles pods on a worker thread when asked
(``request_reconcile``), keeps a forwarder per gateway server port (127.0.0.1:<server port>, or
a substitute, to the port the gateway binds in its pod: its Service's targetPort for that
port, as Istio's gateways bind), and answers the runtime's API
calls (status, pod, admin, exec). It is handed everything it needs of the mesh through
:class:`MeshLink` by the composition root (the app package): the resources to run, the mesh's
proxy defaults, service VIPs, where to publish workloads, the gateway ports, and a bootstrap
renderer, and the CA's signer (an :class:`~sailmesh.runtime.agent.pods.IdentityIssuer`: pods
with a sidecar or a gateway get a node agent serving their certificates over SDS, except in
``explicit`` mode, whose limits say so). It never imports the control plane or translation.

Modes: ``netns`` (root), ``userns`` (unprivileged user namespaces; see
:mod:`sailmesh.runtime.sandbox.userns`: one agent process owns the run's user namespace, the
pods' Envoys mark their upstream sockets) and ``explicit`` (anywhere). ``userns`` needs, besides
the kernel check of the sandbox package, the commands the runtime drives it with; when they are
missing ``--mode userns`` is refused with that reason and automatic detection falls back to
``explicit``, saying so. The ADS Unix socket stays reachable from inside (same filesystem); the
gateway's 127.0.0.1 forwarders connect through sockets the agent makes inside the gateway pod.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sailmesh.config.resource import Resource
from sailmesh.errors import ApiError, one_line
from sailmesh.registry.model import Workload
from sailmesh.runtime import proxy as envoy_proxy
from sailmesh.runtime import scrape
from sailmesh.runtime.agent.pods import IdentityIssuer, PodIdentities
from sailmesh.runtime.local import FailedPod, LocalRuntime, RunningPod
from sailmesh.runtime.sandbox import netns
from sailmesh.runtime.sandbox.forward import Forwarder
from sailmesh.runtime.sandbox.modes import Mode, ModeReport
from sailmesh.runtime.sandbox.servicelb import ServiceBackend
from sailmesh.runtime.sandbox.strategies import runtime_mode, sandbox_for_run
from sailmesh.runtime.sandbox.userns import UsernsNode
from sailmesh.runtime.supervisor import ContainerStatus
from sailmesh.runtime.workloads import PodPlan

__all__ = ["GatewayPort", "MeshLink", "RuntimeHost", "runtime_mode"]

log = logging.getLogger("sailmesh.runtime")


class MeshLink(Protocol):
    """What the runtime needs of the mesh it runs pods for (given by the composition root)."""

    def resources(self) -> list[Resource]:
        """The applied resources (the runtime reads their workload specs)."""
        ...

    def mesh_proxy_config(self) -> Mapping[str, Any]:
        """The mesh's default proxy config (``meshConfig.defaultConfig``)."""
        ...

    def vip_of(self, namespace: str, name: str) -> str | None:
        """The virtual IP of a Service (allocated on first use)."""
        ...

    def publish(self, workload: Workload | None, namespace: str, name: str) -> None:
        """Register a ready workload, or withdraw one (``None``)."""
        ...

    def gateway_ports(self, namespace: str, labels: Mapping[str, str]) -> list[tuple[int, int]]:
        """``(server port, listen port)`` of the Gateway servers a gateway pod (``namespace``,
        ``labels``) serves: the listen port is the one its Envoy binds (the targetPort of its
        Service's port, else the server port itself)."""
        ...

    def render_bootstrap(self, request: envoy_proxy.BootstrapRequest) -> dict[str, Any]:
        """Envoy's bootstrap document for a pod's proxy."""
        ...

    def service_backends(self) -> list[ServiceBackend]:
        """Every Service VIP port with its ready endpoints (for pods without a sidecar)."""
        ...

    def identity_issuer(self) -> IdentityIssuer | None:
        """The CA's signer for the pods' node agents (None: pods get no identity)."""
        ...


@dataclass(frozen=True)
class GatewayPort:
    namespace: str
    pod: str
    port: int  # the Gateway server port (a port of the gateway's Service)
    local_port: int  # bound on 127.0.0.1 (by a forwarder, or by the gateway in explicit mode)
    listen_port: int = 0  # the port the gateway binds in its pod (0: the server port)


class RuntimeHost:
    """The pods of one local mesh run. ``prepare``, then ``start(link)``; ``stop`` ends every
    process and removes every namespace, link, rule and file of the run."""

    def __init__(self, mode: str | None = None, run_id: str | None = None) -> None:
        self.mode_report: ModeReport = runtime_mode(mode)
        self.names = netns.RunNames(run_id or netns.new_run_id())
        self.strategy = sandbox_for_run(self.mode_report.mode, self.names)
        self.link: MeshLink | None = None
        self.runtime: LocalRuntime | None = None
        #: The pods' node agents (None: no CA, or a mode without workload identity).
        self.identities: PodIdentities | None = None
        # netns: a forwarder per gateway port; explicit: None (the gateway binds 127.0.0.1)
        self.forwarders: dict[tuple[str, str, int, int], tuple[Forwarder | None, GatewayPort]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reconcile_wanted = threading.Event()
        self._reconcile_done = threading.Condition()
        self._generation = 0
        self._reconciled = 0
        self._stopping = False
        self._worker: threading.Thread | None = None

    @property
    def mode(self) -> Mode:
        return self.mode_report.mode

    @property
    def node(self) -> UsernsNode | None:
        """userns mode: the agent owning the run's namespaces."""
        return self.strategy.node

    @property
    def limits(self) -> tuple[str, ...]:
        """What the chosen mode cannot do (printed at start)."""
        return self.strategy.limits

    def prepare(self) -> Path:
        """Make the run's work dir; returns the path the control plane's ADS Unix socket must
        listen on (the pods' Envoys reach it there)."""
        workdir = self.names.workdir
        workdir.mkdir(parents=True, exist_ok=True)
        os.chmod(workdir, 0o755)
        return workdir / "xds.sock"

    @property
    def agent_socket(self) -> Path:
        """Where the control plane serves each pod's merged metrics to the pods' Envoys
        (their port 15020 routes there); made by whoever serves it, before :meth:`start`."""
        return self.names.workdir / "agent.sock"

    async def start(self, link: MeshLink) -> None:
        """Start the run's node (userns: its agent), open the ADS socket to the pods' Envoys
        and the reconcile worker. Pods start on :meth:`request_reconcile`."""
        self._loop = asyncio.get_running_loop()
        self.link = link
        xds_socket = self.names.workdir / "xds.sock"
        await asyncio.to_thread(self.strategy.start_node)
        for sock in (xds_socket, self.agent_socket):
            if not sock.exists():
                continue
            if os.geteuid() == 0:  # Envoy must connect: it runs as the mode's proxy user
                os.chown(sock, *self.strategy.ads_socket_owner())
            os.chmod(sock, 0o660)
        self.identities = self._identities(link.identity_issuer())
        self.runtime = LocalRuntime(
            self.names,
            self.strategy,
            xds_socket,
            vip_of=link.vip_of,
            publish=link.publish,
            render_bootstrap=link.render_bootstrap,
            gateway_ports_of=self._server_ports,
            service_backends=link.service_backends,
            agent_socket=self.agent_socket,
            identities=self.identities,
        )
        self._worker = threading.Thread(target=self._reconcile_loop, name="reconcile", daemon=True)
        self._worker.start()

    async def stop(self) -> None:
        self._stopping = True
        self._reconcile_wanted.set()
        if self._worker is not None:
            await asyncio.to_thread(self._worker.join, 30)
        for forwarder, _ in list(self.forwarders.values()):
            if forwarder is not None:
                await forwarder.stop()
        self.forwarders.clear()
        if self.runtime is not None:
            await asyncio.to_thread(self.runtime.stop)
        if self.identities is not None:
            await asyncio.to_thread(self.identities.stop)
        await asyncio.to_thread(self.strategy.stop_node)

    def _identities(self, issuer: IdentityIssuer | None) -> PodIdentities | None:
        """The node agents of the run, when there is a CA and the mode can tell pods' Envoys
        apart (see :meth:`~sailmesh.runtime.sandbox.strategy.Sandbox.proxy_host_identity`)."""
        owner = self.strategy.proxy_host_identity()
        if issuer is None or owner is None:
            return None
        identities = PodIdentities(issuer, *owner)
        identities.start()
        return identities

    async def cleanup(self) -> None:
        """Remove whatever of the run is left (after :meth:`stop` and the control plane's)."""
        await asyncio.to_thread(netns.cleanup, self.names.run_id)

    # --- reconcile -----------------------------------------------------------------------
    def request_reconcile(self) -> None:
        with self._reconcile_done:
            self._generation += 1
        self._reconcile_wanted.set()

    def wait_reconciled(self, timeout: float = 60.0) -> None:
        with self._reconcile_done:
            target = self._generation
            self._reconcile_done.wait_for(lambda: self._reconciled >= target, timeout)

    def _reconcile_loop(self) -> None:
        while True:
            self._reconcile_wanted.wait()
            self._reconcile_wanted.clear()
            if self._stopping:
                return
            with self._reconcile_done:
                generation = self._generation
            try:
                assert self.link is not None and self.runtime is not None
                self.runtime.reconcile(self.link.resources(), self.link.mesh_proxy_config())
                if self._loop is not None:
                    asyncio.run_coroutine_threadsafe(self._sync_forwarders(), self._loop).result(30)
            except Exception as exc:  # one line on the console; the traceback at debug level
                log.warning("reconcile failed: %s", one_line(exc))
                log.debug("reconcile failed", exc_info=exc)
            with self._reconcile_done:
                self._reconciled = generation
                self._reconcile_done.notify_all()

    # --- gateway ports -------------------------------------------------------------------
    def _port_pairs(self, plan: PodPlan) -> list[tuple[int, int]]:
        """``(server port, listen port)`` of the gateway pod ``plan``."""
        assert self.link is not None
        return self.link.gateway_ports(plan.namespace, plan.label_map)

    def _server_ports(self, plan: PodPlan) -> list[int]:
        """The ports the gateway pod ``plan`` binds (explicit mode gives each a host port)."""
        return sorted({listen for _, listen in self._port_pairs(plan)})

    def gateway_ports(self) -> list[tuple[RunningPod, int, int]]:
        """``(pod, server port, listen port)`` of every gateway pod's servers."""
        assert self.runtime is not None
        out = []
        for pod in list(self.runtime.pods.values()):
            if pod.plan.gateway:
                out += [(pod, port, listen) for port, listen in self._port_pairs(pod.plan)]
        return out

    async def _sync_forwarders(self) -> None:
        wanted = {
            (p.plan.namespace, p.plan.name, port, listen): (p, port, listen)
            for p, port, listen in self.gateway_ports()
        }
        for key in [k for k in self.forwarders if k not in wanted]:
            forwarder, _ = self.forwarders.pop(key)
            if forwarder is not None:
                await forwarder.stop()
        for key, (pod, port, listen) in wanted.items():
            if key in self.forwarders:
                continue
            if self.strategy.gateways_bind_loopback:  # the gateway listens on 127.0.0.1
                bound = (pod.ports.gateway or {}).get(listen, listen)
                gateway = GatewayPort(pod.plan.namespace, pod.plan.name, port, bound, listen)
                self.forwarders[key] = (None, gateway)
                continue
            # users reach the server port (Istio's docs curl the Service's port 80/443); the
            # forwarder connects to what the gateway binds in its pod (e.g. 8080)
            local = port if port >= 1024 or os.geteuid() == 0 else port + 8000
            forwarder = Forwarder(pod.netns_file, "127.0.0.1", listen, "127.0.0.1", local)
            try:
                bound = await forwarder.start()
            except OSError as exc:
                log.warning("cannot forward 127.0.0.1:%d to gateway port %d: %s", local, port, exc)
                forwarder = Forwarder(pod.netns_file, "127.0.0.1", listen, "127.0.0.1", 0)
                bound = await forwarder.start()
            self.forwarders[key] = (
                forwarder,
                GatewayPort(pod.plan.namespace, pod.plan.name, port, bound, listen),
            )

    # --- metrics ---------------------------------------------------------------------------
    def pod_metrics(self, name: str, namespace: str) -> tuple[str | None, str | None] | None:
        """(Envoy's stats, the app's own metrics) of a running pod; None: no such pod."""
        pod = self.runtime.pods.get((namespace, name)) if self.runtime is not None else None
        if pod is None:
            return None
        return scrape.envoy_stats(pod), scrape.app_metrics(pod)

    def envoy_stats(self, name: str, namespace: str) -> str | None:
        """The merged-view stats of a running pod's Envoy (None: no such pod or no answer)."""
        pod = self.runtime.pods.get((namespace, name)) if self.runtime is not None else None
        return scrape.envoy_stats(pod) if pod is not None else None

    def scrape_targets(self) -> list[scrape.ScrapeTarget]:
        """What Prometheus scrapes in the pod network (see :mod:`~sailmesh.runtime.scrape`)."""
        pods = list(self.runtime.pods.values()) if self.runtime is not None else []
        found = (scrape.scrape_target(p) for p in pods if p.ready)
        return sorted((t for t in found if t is not None), key=lambda t: t.address)

    def running_pods(self) -> list[tuple[str, PodPlan]]:
        """(address, plan) of every running pod."""
        pods = list(self.runtime.pods.values()) if self.runtime is not None else []
        return [(p.ip, p.plan) for p in pods]

    # --- the runtime's API (status, pods, admin) ------------------------------------------
    def runtime_call(self, what: str, query: dict[str, str]) -> dict[str, Any]:
        if what == "status":
            return self.status(query.get("namespace") or None)
        assert self.runtime is not None
        ref, namespace = query.get("pod", ""), query.get("namespace") or None
        pod = self.runtime.find_pod(ref, namespace)
        if pod is None:
            raise ApiError(404, {"error": self.runtime.not_found(ref, namespace)})
        if what == "pod":
            return self.pod_info(pod)
        if what == "exec":
            command = _command_list(query.get("command", ""))
            return pod.exec_command(command, query.get("container") or None).to_json()
        if what == "admin":
            status, body = envoy_proxy.admin_request(
                pod.netns_file, query.get("path", "/config_dump"), pod.admin_port, timeout=10
            )
            return {"status": status, "body": body}
        if what == "loglevel":
            return self._set_log_level(pod, query)
        raise ApiError(404, {"error": f"unknown runtime call {what!r}"})

    def _set_log_level(self, pod: RunningPod, query: dict[str, str]) -> dict[str, Any]:
        """Envoy's ``POST /logging`` (Envoy lists levels on POST only): ``level`` for every
        logger, ``paths`` as ``logger:level,...``, or nothing to only list them. The only admin
        change the API makes; every other admin call is a read."""
        param = next((f"?{k}={query[k]}" for k in ("paths", "level") if query.get(k)), "")
        status, body = envoy_proxy.admin_request(
            pod.netns_file, f"/logging{param}", pod.admin_port, timeout=10, method="POST"
        )
        return {"status": status, "body": body}

    def pod_info(self, pod: RunningPod) -> dict[str, Any]:
        logs = pod.sandbox.workdir / "logs"
        return {
            "namespace": pod.plan.namespace,
            "name": pod.plan.name,
            "ip": pod.ip,
            "netns": pod.sandbox.ns if pod.netns_file else None,
            # userns: a command appended to this runs in the pod (nsenter through the agent)
            "execPrefix": pod.sandbox.command([]) if pod.sandbox.node is not None else None,
            "appUid": pod.sandbox.spec.app_uid,
            "appGid": pod.sandbox.spec.app_gid,
            "workdir": str(pod.sandbox.workdir),
            "sdsSocket": str(pod.sds_socket) if pod.sds_socket is not None else None,
            "mode": str(self.mode),
            "adminPort": pod.admin_port,
            "ports": {str(k): v for k, v in pod.ports.port_map.items()},
            "env": pod.sandbox.environment() if pod.netns_file is None else {},
            "containers": {
                c.name: str(logs / f"{c.name}.log") for c in pod.supervisor.status().containers
            },
        }

    def status(self, namespace: str | None = None) -> dict[str, Any]:
        """The run, its pods (of ``namespace``, else all; failed ones too, with their reason)
        and the gateway ports."""
        assert self.runtime is not None
        rows = [_pod_row(p) for p in list(self.runtime.pods.values())]
        rows += [_failed_row(f) for f in list(self.runtime.failed.values())]
        pods = sorted(
            (r for r in rows if namespace in (None, r["namespace"])),
            key=lambda r: (r["namespace"], r["name"]),
        )
        ports = [
            {"namespace": g.namespace, "pod": g.pod, "port": g.port, "local": g.local_port}
            for _, g in self.forwarders.values()
        ]
        return {
            "mode": str(self.mode),
            "modeReason": self.mode_report.describe(),
            "limits": list(self.limits),
            "runId": self.names.run_id,
            "pods": pods,
            "gatewayPorts": ports,
        }


def _pod_row(pod: RunningPod) -> dict[str, Any]:
    """A running pod in the status: phase, readiness (with why not), containers."""
    st = pod.supervisor.status()
    waiting = [c for c in st.containers if not c.ready]
    reason = None
    if waiting:
        reason = "; ".join(_not_ready(c) for c in waiting)
    elif not pod.ready:
        reason = f"pod {st.phase}, not ready"
    return {
        "namespace": pod.plan.namespace,
        "name": pod.plan.name,
        "ip": pod.ip,
        "phase": st.phase,
        "ready": pod.ready and not waiting,
        "reason": reason,
        **_plan_fields(pod.plan),
        "containers": [
            {"name": c.name, "state": c.state, "restarts": c.restarts, "ready": c.ready}
            for c in st.containers
        ],
    }


def _plan_fields(plan: PodPlan) -> dict[str, Any]:
    """What the manifests asked for a pod: role, labels, annotations, owner, service account."""
    return {
        "gateway": plan.gateway,
        "sidecar": plan.inject and not plan.gateway,
        "labels": plan.label_map,
        "annotations": dict(plan.annotations),
        "owner": plan.owner,
        "serviceAccount": plan.service_account,
    }


def _not_ready(c: ContainerStatus) -> str:
    """Why one container is not ready: ``container 'app' not ready (waiting, Error, 3 restarts)``."""
    details = [c.state, c.reason, f"{c.restarts} restarts" if c.restarts else ""]
    return f"container {c.name!r} not ready ({', '.join(d for d in details if d)})"


def _failed_row(failed: FailedPod) -> dict[str, Any]:
    """A pod that could not start, in the status: phase ``Failed`` and the reason."""
    plan = failed.plan
    return {
        "namespace": plan.namespace,
        "name": plan.name,
        "ip": "",
        "phase": "Failed",
        "ready": False,
        "reason": failed.reason,
        **_plan_fields(plan),
        "containers": [],
    }


def _command_list(text: str) -> list[str]:
    """The ``command`` of an ``exec`` call: a JSON list of strings, not empty."""
    try:
        command = json.loads(text)
    except ValueError:
        command = None
    if not isinstance(command, list) or not command or not all(isinstance(a, str) for a in command):
        raise ApiError(400, {"error": "exec: command must be a non-empty JSON list of strings"})
    return command
