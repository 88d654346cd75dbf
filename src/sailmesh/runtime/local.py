"""The local runtime: pods as processes in sandboxes, with Envoy sidecars and gateways.

In: the Deployments/Pods/Services/Namespaces of the config store (``reconcile``) and the run's
:class:`~sailmesh.runtime.sandbox.strategy.Sandbox` strategy. Out: running pods (sandbox +
supervised containers, see :mod:`~sailmesh.runtime.containers`), workloads with their addresses
in the registry, hosts files mapping service names to virtual IPs.

When the strategy says pods share the host (explicit mode), each pod gets host ports
(:mod:`~sailmesh.runtime.ports`): one per declared containerPort, passed to the app as ``PORT``
(the first port of each container; apps must honour it, otherwise only one replica per port can
listen); the workload is published at 127.0.0.1 with a ``port_map`` containerPort -> host port,
so endpoints point at the right process. Each sidecar gets its own http_proxy port
(interception ``NONE``) and admin port; apps get ``http_proxy``/``HTTP_PROXY`` pointing at it.
A gateway binds its listen ports on 127.0.0.1 itself (the port, or a substitute when it is taken
or privileged; a listen port is the gateway Service's targetPort for a server port, else the
server port).

Workload identity (:class:`~sailmesh.runtime.agent.pods.PodIdentities`; none in explicit mode):
a pod with a sidecar or a gateway gets its node agent before its Envoy (whose bootstrap names the
SDS socket) and loses it after; a sidecar pod is published with Istio's ``security.istio.io/
tlsMode: istio`` label, as Istio's injector adds it (its gateway template does not).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sailmesh.clock import SYSTEM_CLOCK, Clock
from sailmesh.config.resource import Resource
from sailmesh.errors import one_line
from sailmesh.registry.locality import locality_from_labels
from sailmesh.registry.model import TLS_MODE_ISTIO, TLS_MODE_LABEL, FrozenMap, Workload, frozen_map
from sailmesh.runtime import proxy as envoy_proxy
from sailmesh.runtime.agent.pods import PodIdentities
from sailmesh.runtime.containers import (
    ProxySetup,
    app_containers,
    base_env,
    missing_executable,
    proxy_container,
    spawn,
    stage_pylib,
)
from sailmesh.runtime.envoy import find_envoy
from sailmesh.runtime.podref import PodRef
from sailmesh.runtime.ports import GatewayPortsOf, HostPorts, PodPorts
from sailmesh.runtime.sandbox.capture import CaptureConfig
from sailmesh.runtime.sandbox.errors import SandboxError
from sailmesh.runtime.sandbox.hosts import ServiceName
from sailmesh.runtime.sandbox.netns import RunNames
from sailmesh.runtime.sandbox.pod import PodSandbox, PodSpec
from sailmesh.runtime.sandbox.servicelb import ServiceBackend
from sailmesh.runtime.sandbox.strategies import LIMITS
from sailmesh.runtime.sandbox.strategy import APP_PATH, ExecCommand, Sandbox
from sailmesh.runtime.supervisor import ContainerSpec, PodStartError, PodStatus, PodSupervisor
from sailmesh.runtime.workloads import PodPlan, plan_pods
from sailmesh.samples.images import exec_argv

__all__ = [
    "APP_PATH",
    "LIMITS",
    "FailedPod",
    "LocalRuntime",
    "PodPorts",
    "RunningPod",
    "serving",
]

log = logging.getLogger("sailmesh.runtime")

APP_READY_TIMEOUT = 30.0
VipLookup = Callable[[str, str], str | None]
BackendsOf = Callable[[], Iterable[ServiceBackend]]
WorkloadSink = Callable[[Workload | None, str, str], None]  # (workload or None=remove, ns, name)


@dataclass
class RunningPod:
    plan: PodPlan
    sandbox: PodSandbox
    supervisor: PodSupervisor
    index: int
    ip: str
    ready: bool = False
    ports: PodPorts = field(default_factory=PodPorts)
    pylib: Path | None = None  # where the sample stand-ins are importable from
    #: The node agent's SDS socket when the pod has a workload identity.
    sds_socket: Path | None = None

    @property
    def admin_port(self) -> int:
        return self.ports.admin

    @property
    def netns_file(self) -> Path | None:
        return self.sandbox.netns_file

    def workload(self) -> Workload:
        labels = self.plan.label_map
        if self.sds_socket is not None and self.plan.inject and not self.plan.gateway:
            labels.setdefault(TLS_MODE_LABEL, TLS_MODE_ISTIO)  # Istio's injector does the same
        return Workload(
            name=self.plan.name,
            namespace=self.plan.namespace,
            address=self.ip,
            labels=frozen_map(labels),
            service_account=self.plan.service_account,
            ports=FrozenMap(self.plan.named_ports),
            port_map=FrozenMap(self.ports.port_map),
            locality=locality_from_labels(self.plan.label_map),
        )

    def exec_command(self, command: Sequence[str], container: str | None = None) -> ExecCommand:
        """How to run ``command`` in this pod as ``container`` (default: the app's user). In a
        container of a sample image, the image's own programs run their stand-ins
        (``/usr/bin/fortio load ...`` in a fortio pod)."""
        app = next((c for c in self.plan.containers if c.name == container), None) or next(
            iter(self.plan.containers), None
        )
        argv = exec_argv(app.image if app is not None else None, command)
        found = self.sandbox.exec_command(argv, container or "")
        if argv == tuple(command) or self.pylib is None:
            return found
        return replace(found, env={**found.env, "PYTHONPATH": str(self.pylib)})


@dataclass(frozen=True)
class FailedPod:
    """A pod that could not start and why (one line); tried again when its template changes."""

    plan: PodPlan
    reason: str


@dataclass
class LocalRuntime:
    """Runs pods for one mesh instance. Thread-safe ``reconcile``; ``stop`` ends everything."""

    names: RunNames
    strategy: Sandbox
    xds_socket: Path
    vip_of: VipLookup
    publish: WorkloadSink
    render_bootstrap: envoy_proxy.BootstrapRenderer
    gateway_ports_of: GatewayPortsOf = lambda plan: []
    #: The Services' VIPs and ready endpoints, for the rules of pods without a sidecar.
    service_backends: BackendsOf = lambda: []
    #: Node agents giving sidecars and gateways their identities (None: no identities).
    identities: PodIdentities | None = None
    clock: Clock = SYSTEM_CLOCK
    #: The control plane's socket behind each pod's merged-metrics port (None: none).
    agent_socket: Path | None = None
    pods: dict[tuple[str, str], RunningPod] = field(default_factory=dict)
    failed: dict[tuple[str, str], FailedPod] = field(default_factory=dict)
    services: list[ServiceName] = field(default_factory=list)
    backends: list[ServiceBackend] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._free_indexes = list(range(250))
        self._host_ports = HostPorts()  # explicit mode: ports handed to running pods
        self._proxy = ProxySetup(
            find_envoy(),
            self.xds_socket,
            self.render_bootstrap,
            self.strategy.socket_mark,
            self.agent_socket,
            metrics_ports=not self.strategy.host_ports,
        )
        self.pylib = stage_pylib(self.names.workdir)

    # --- reconcile ---------------------------------------------------------------------------
    def reconcile(
        self, resources: Iterable[Resource], mesh_proxy: Mapping[str, Any] | None = None
    ) -> None:
        """Run the pods ``resources`` ask for (and only those); ``mesh_proxy`` is the mesh's
        default proxy config (see :func:`~sailmesh.runtime.workloads.plan_pods`)."""
        items = list(resources)
        services = sorted(
            (
                ServiceName(r.name, r.namespace, vip)
                for r in items
                if r.kind == "Service"
                if (vip := self.vip_of(r.namespace, r.name)) is not None
            ),
            key=lambda s: (s.namespace, s.name),
        )
        desired = {p.key: p for p in plan_pods(items, mesh_proxy)}
        with self._lock:
            hosts_changed = services != self.services
            self.services = services
            stale = [
                k
                for k, pod in self.pods.items()
                if k not in desired or desired[k].template_hash != pod.plan.template_hash
            ]
            for key in stale:
                self._stop_pod(self.pods.pop(key))
            if hosts_changed:
                for pod in self.pods.values():
                    pod.sandbox.update_hosts(self.services)
            for key in [k for k, f in self.failed.items() if _changed(desired, k, f.plan)]:
                del self.failed[key]  # gone, or changed: a changed pod is tried again
            new = [p for k, p in desired.items() if k not in self.pods and k not in self.failed]
        self._sync_backends(new)
        if new:
            self._start_pods(new)

    def _start_pods(self, plans: list[PodPlan]) -> None:
        """Start pods in parallel; each failure is recorded on its pod, the others go on."""
        try:
            self.strategy.setup_node()  # once, before pods start in parallel
        except Exception as exc:
            for plan in plans:
                self._record_failure(plan, exc)
            return
        with ThreadPoolExecutor(max_workers=min(8, len(plans))) as pool:
            list(pool.map(self._start_pod, plans))

    def _sync_backends(self, new: list[PodPlan]) -> None:
        """Pods without a sidecar reach Services through rules of their own (kube-proxy's
        role): bring the running ones up to date; ``new`` ones get them when created."""
        if not any(not p.inject for p in new) and all(p.plan.inject for p in self.pods.values()):
            return
        backends = list(self.service_backends())
        with self._lock:
            self.backends = backends
            running = [p for p in self.pods.values() if not p.plan.inject]
        for pod in running:
            pod.sandbox.update_backends(backends)

    def stop(self) -> None:
        with self._lock:
            pods = list(self.pods.values())
            self.pods.clear()
            self.failed.clear()
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(pods)))) as pool:
            list(pool.map(self._stop_pod, pods))

    # --- pods --------------------------------------------------------------------------------
    def _start_pod(self, plan: PodPlan) -> RunningPod | None:
        """Start one pod; a failure is recorded on the pod (see ``failed``), never raised."""
        try:
            return self._run_pod(plan)
        except Exception as exc:
            self._record_failure(plan, exc)
            return None

    def _record_failure(self, plan: PodPlan, exc: BaseException) -> None:
        reason = failure_reason(exc)
        log.warning("pod %s/%s failed to start: %s", plan.namespace, plan.name, reason)
        log.debug("pod %s/%s: start failure", plan.namespace, plan.name, exc_info=exc)
        with self._lock:
            self.failed[plan.key] = FailedPod(plan, reason)

    def _run_pod(self, plan: PodPlan) -> RunningPod:
        with self._lock:
            if not self._free_indexes:
                raise SandboxError("no pod address left: a run holds at most 250 pods")
            index = self._free_indexes.pop(0)
        ports = (
            self._host_ports.allocate(plan, self.gateway_ports_of)
            if self.strategy.host_ports
            else PodPorts()
        )
        sandbox = PodSandbox(self.names, _pod_spec(plan, index, ports), strategy=self.strategy)
        sandbox.backends = tuple(sorted(self.backends))
        try:
            sandbox.create(self.services)
            ip = sandbox.ip or "127.0.0.1"
            sds_socket = self._start_identity(plan, sandbox)
            containers = self._containers(plan, sandbox, ip, ports, sds_socket)
            _check_commands(plan, containers)
            supervisor = PodSupervisor(
                f"{plan.namespace}/{plan.name}",
                containers,
                spawner=lambda spec, log_path: spawn(sandbox, spec, log_path),
                log_dir=sandbox.workdir / "logs",
                on_event=self._on_event,
                clock=self.clock,
            )
            running = RunningPod(
                plan,
                sandbox,
                supervisor,
                index,
                ip,
                ports=ports,
                pylib=self.pylib,
                sds_socket=sds_socket,
            )
            with self._lock:
                self.pods[plan.key] = running
            supervisor.start()
            _wait_apps_ready(supervisor, APP_READY_TIMEOUT, self.clock)
            running.ready = True
            return running
        except Exception:
            with self._lock:
                self.pods.pop(plan.key, None)
            self._stop_identity(plan)
            sandbox.destroy()
            self._release(index, ports)
            raise

    def _start_identity(self, plan: PodPlan, sandbox: PodSandbox) -> Path | None:
        """The pod's node agent, before its Envoy: its SDS socket (None: no identity)."""
        if self.identities is None or not plan.inject or sandbox.netns_file is None:
            return None
        return self.identities.start_pod(
            plan.key, plan.service_account, plan.secret_ttl, sandbox.workdir, sandbox.netns_file
        )

    def _stop_identity(self, plan: PodPlan) -> None:
        if self.identities is not None:
            self.identities.stop_pod(plan.key)

    def _release(self, index: int, ports: PodPorts) -> None:
        # Round robin: a freed address is handed out again only after the others, so the
        # telemetry that names peers by address rarely sees one address change owners.
        with self._lock:
            self._free_indexes.append(index)
        self._host_ports.release(ports)

    def _containers(
        self,
        plan: PodPlan,
        sandbox: PodSandbox,
        ip: str,
        ports: PodPorts,
        sds_socket: Path | None = None,
    ) -> list[ContainerSpec]:
        proxy = (
            [proxy_container(self._proxy, plan, sandbox, ip, ports, sds_socket)]
            if plan.inject
            else []
        )
        if plan.gateway:
            return proxy
        env = base_env(plan, ip, self.pylib)
        return proxy + app_containers(plan, sandbox.netns_file, ports, env)

    def _stop_pod(self, pod: RunningPod) -> None:
        self.publish(None, pod.plan.namespace, pod.plan.name)
        try:
            pod.supervisor.stop()
        finally:
            try:
                self._stop_identity(pod.plan)  # after its Envoy
            finally:
                pod.sandbox.destroy()
                self._release(pod.index, pod.ports)

    def _on_event(self, pod_name: str, container: str, event: str, detail: str) -> None:
        namespace, _, name = pod_name.partition("/")
        with self._lock:
            pod = self.pods.get((namespace, name))
        if pod is None or not container:
            return
        if event in ("exited", "stopped", "stopping"):
            # Endpoints drop while an app or the sidecar is down: with the sidecar gone, inbound
            # traffic is still captured to its (closed) port and callers would get errors.
            self.publish(None, namespace, name)
        elif event == "ready" and serving(pod.supervisor.status(), container, pod.plan.gateway):
            self.publish(pod.workload(), namespace, name)

    def find_pod(self, ref: str, namespace: str | None = None) -> RunningPod | None:
        """A running pod by reference (see :mod:`~sailmesh.runtime.podref`), looked up in
        ``namespace`` (None: every namespace, the first match by namespace and name)."""
        wanted = PodRef.parse(ref, namespace)
        with self._lock:
            pods = sorted(self.pods.values(), key=lambda p: p.plan.key)
        return next((p for p in pods if wanted.matches(p.plan)), None)

    def not_found(self, ref: str, namespace: str | None = None) -> str:
        """The one line saying :meth:`find_pod` found nothing, and where the name exists."""
        with self._lock:
            plans = [p.plan for p in self.pods.values()]
        return PodRef.parse(ref, namespace).not_found(plans)


def failure_reason(exc: BaseException) -> str:
    """Why a pod did not start, in one line."""
    if isinstance(exc, PodStartError):
        return f"container {exc.container!r} {exc.reason}"
    return one_line(exc)


def _changed(
    desired: Mapping[tuple[str, str], PodPlan], key: tuple[str, str], plan: PodPlan
) -> bool:
    """Whether the pod ``key`` (planned as ``plan``) is no longer wanted, or wanted otherwise."""
    return key not in desired or desired[key].template_hash != plan.template_hash


def _check_commands(plan: PodPlan, containers: Sequence[ContainerSpec]) -> None:
    """Raise :class:`PodStartError` when a container's executable does not exist."""
    for spec in containers:
        why = missing_executable(spec)
        if why is not None:
            raise PodStartError(
                f"{plan.namespace}/{plan.name}", spec.name, f"cannot start: {why}", []
            )


def _pod_spec(plan: PodPlan, index: int, ports: PodPorts) -> PodSpec:
    # A gateway is not a sidecar: traffic to its ports must reach Envoy directly.
    return PodSpec(
        name=plan.name,
        namespace=plan.namespace,
        index=index,
        capture=CaptureConfig(capture_inbound=not plan.gateway) if plan.inject else None,
        explicit_outbound_port=ports.proxy or 0,
    )


def serving(status: PodStatus, just_ready: str, gateway: bool = False) -> bool:
    """Whether a pod serves now that its container ``just_ready`` is ready: it has apps (or is
    a gateway, whose Envoy is the app: an egress gateway is an endpoint of its Service), and
    every container (the sidecar included, when there is one) is ready."""
    apps = [c for c in status.containers if c.role == "app"]
    ready = all(c.ready or c.name == just_ready for c in status.containers)
    return (bool(apps) or gateway) and ready


def _wait_apps_ready(
    supervisor: PodSupervisor, timeout: float, clock: Clock = SYSTEM_CLOCK
) -> None:
    """Wait (bounded) until the pod's app containers pass their readiness probes."""
    deadline = clock.monotonic() + timeout
    while clock.monotonic() < deadline:
        status = supervisor.status()
        apps = [c for c in status.containers if c.role == "app"]
        if all(c.ready for c in apps) or status.phase in ("Succeeded", "Failed"):
            return
        clock.sleep(0.02)
    log.warning("pod %s: apps not ready after %.0fs; continuing", supervisor.status().name, timeout)
