"""The local runtime: pods as processes in sandboxes, with Envoy sidecars and gateways.

In: the Deployments/Pods/Services/Namespaces of the config store (``reconcile``). Out: running
pods (sandbox + supervised containers), workloads with their addresses in the registry, hosts
files mapping service names to virtual IPs, and 127.0.0.1 forwarders for gateway ports.

Explicit mode (no namespaces, no capture): every pod runs in the host namespace. Each declared
containerPort gets a free host port, passed to the app as ``PORT`` (the first port of each
container; apps must honour it, otherwise only one replica per port can listen); the workload is
published at 127.0.0.1 with a ``port_map`` containerPort -> host port, so endpoints point at the
right process. Each sidecar gets its own http_proxy port (interception ``NONE``) and admin port;
apps get ``http_proxy``/``HTTP_PROXY`` pointing at it. A gateway binds its server ports on
127.0.0.1 itself (the server port, or a substitute when it is taken or privileged).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sailmesh.config.resource import Resource
from sailmesh.registry.model import FrozenMap, Workload, frozen_map
from sailmesh.runtime import proxy as envoy_proxy
from sailmesh.runtime.envoy import find_envoy
from sailmesh.runtime.sandbox.capture import PROXY_GID, PROXY_UID, CaptureConfig
from sailmesh.runtime.sandbox.forward import socket_in_netns
from sailmesh.runtime.sandbox.hosts import ServiceName
from sailmesh.runtime.sandbox.modes import Mode
from sailmesh.runtime.sandbox.netns import RunNames, Subnet, setup_node
from sailmesh.runtime.sandbox.pod import EXPLICIT_LIMITS, PodSandbox, PodSpec
from sailmesh.runtime.sandbox.userns import UsernsNode
from sailmesh.runtime.supervisor import ContainerSpec, PodSupervisor
from sailmesh.runtime.workloads import PodPlan, plan_pods

log = logging.getLogger("sailmesh.runtime")

PROXY_MARK = CaptureConfig().proxy_mark  # userns: Envoy's SO_MARK, skipped by the rules
APP_READY_TIMEOUT = 30.0
APP_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
VipLookup = Callable[[str, str], str | None]
WorkloadSink = Callable[[Workload | None, str, str], None]  # (workload or None=remove, ns, name)
GatewayPortsOf = Callable[[PodPlan], list[int]]  # the Gateway server ports a gateway pod serves
LIMITS: dict[Mode, tuple[str, ...]] = {
    Mode.NETNS: (),
    Mode.USERNS: (
        "every process of a pod runs as one uid (root of the user namespace; outside, the "
        "invoking user, or nobody under root): apps are not isolated from their sidecar",
        "gateway ports below 1024 are forwarded from 127.0.0.1:<port + 8000> when not root",
    ),
    Mode.EXPLICIT: (
        *EXPLICIT_LIMITS[:2],
        "no inbound capture: the server's sidecar sees (logs, enforces) nothing; only the "
        "caller's sidecar handles a call",
        "pods share the host: each gets host ports for its containerPorts; an app must listen "
        "on $PORT (its first containerPort's host port), or only one replica per port works",
        "gateways bind 127.0.0.1 (a substitute port when the server port is taken or "
        "privileged); ports of Gateways applied after the gateway started bind as they are",
    ),
}


@dataclass(frozen=True)
class PodPorts:
    """Explicit mode: the host ports of one pod (empty in netns mode)."""

    port_map: dict[int, int] = field(default_factory=dict)  # containerPort -> host port
    proxy: int | None = None  # the sidecar's http_proxy port
    admin: int = envoy_proxy.ADMIN_PORT
    gateway: dict[int, int] | None = None  # Gateway server port -> port bound on 127.0.0.1

    def all(self) -> list[int]:
        proxy = [] if self.proxy is None else [self.proxy]
        return [*self.port_map.values(), *proxy, self.admin, *(self.gateway or {}).values()]


@dataclass
class RunningPod:
    plan: PodPlan
    sandbox: PodSandbox
    supervisor: PodSupervisor
    index: int
    ip: str
    ready: bool = False
    ports: PodPorts = field(default_factory=PodPorts)

    @property
    def admin_port(self) -> int:
        return self.ports.admin

    @property
    def netns_file(self) -> Path | None:
        return self.sandbox.netns_file

    def workload(self) -> Workload:
        return Workload(
            name=self.plan.name,
            namespace=self.plan.namespace,
            address=self.ip,
            labels=frozen_map(self.plan.label_map),
            service_account=self.plan.service_account,
            ports=FrozenMap(self.plan.named_ports),
            port_map=FrozenMap(self.ports.port_map),
        )


@dataclass
class LocalRuntime:
    """Runs pods for one mesh instance. Thread-safe ``reconcile``; ``stop`` ends everything."""

    names: RunNames
    mode: Mode
    xds_socket: Path
    vip_of: VipLookup
    publish: WorkloadSink
    render_bootstrap: envoy_proxy.BootstrapRenderer
    subnet: Subnet = field(default_factory=Subnet)
    gateway_ports_of: GatewayPortsOf = lambda plan: []
    node: UsernsNode | None = None  # userns mode: the run's namespace agent
    pods: dict[tuple[str, str], RunningPod] = field(default_factory=dict)
    services: list[ServiceName] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._free_indexes = list(range(250))
        self._host_ports: set[int] = set()  # explicit mode: ports handed to running pods
        self._envoy = find_envoy()
        self.pylib = self._stage_pylib()

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
            new = [p for k, p in desired.items() if k not in self.pods]
        if new and self.mode is Mode.NETNS:
            setup_node(self.names, self.subnet)  # once, before pods start in parallel
        if new and self.node is not None:
            self.node.setup_node(self.subnet)
        if new:
            with ThreadPoolExecutor(max_workers=min(8, len(new))) as pool:
                for running in pool.map(self._start_pod, new):
                    if running is not None:
                        with self._lock:
                            self.pods[running.plan.key] = running

    def stop(self) -> None:
        with self._lock:
            pods = list(self.pods.values())
            self.pods.clear()
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(pods)))) as pool:
            list(pool.map(self._stop_pod, pods))

    # --- pods --------------------------------------------------------------------------------
    def _start_pod(self, plan: PodPlan) -> RunningPod | None:
        with self._lock:
            index = self._free_indexes.pop(0)
        ports = self._allocate_ports(plan) if self.mode is Mode.EXPLICIT else PodPorts()
        # A gateway is not a sidecar: traffic to its ports must reach Envoy directly.
        capture = CaptureConfig(capture_inbound=not plan.gateway)
        spec = PodSpec(
            name=plan.name,
            namespace=plan.namespace,
            index=index,
            capture=capture,
            explicit_outbound_port=ports.proxy or 0,
        )
        sandbox = PodSandbox(self.names, spec, self.mode, self.subnet, self.node)
        try:
            sandbox.create(self.services)
            ip = sandbox.ip or "127.0.0.1"
            containers = self._containers(plan, sandbox, ip, ports)
            supervisor = PodSupervisor(
                f"{plan.namespace}/{plan.name}",
                containers,
                spawner=lambda spec, log_path: _spawn(sandbox, spec, log_path),
                log_dir=sandbox.workdir / "logs",
                on_event=self._on_event,
            )
            running = RunningPod(plan, sandbox, supervisor, index, ip, ports=ports)
            with self._lock:
                self.pods[plan.key] = running
            supervisor.start()
            _wait_apps_ready(supervisor, APP_READY_TIMEOUT)
            running.ready = True
            return running
        except Exception:
            log.exception("pod %s/%s failed to start", plan.namespace, plan.name)
            with self._lock:
                self.pods.pop(plan.key, None)
            sandbox.destroy()
            with self._lock:
                self._free_indexes.insert(0, index)
                self._host_ports.difference_update(ports.all())
            raise

    # --- explicit mode: host ports -----------------------------------------------------------
    def _allocate_ports(self, plan: PodPlan) -> PodPorts:
        """Free host ports for the pod's container ports, its sidecar and its gateway ports."""
        with self._lock:
            port_map = {
                port: self._free_port()
                for c in plan.containers
                if not plan.gateway
                for _, port in c.ports
            }
            proxy = admin = None
            if plan.inject:
                admin = self._free_port()
                proxy = None if plan.gateway else self._free_port()
            gateway = None
            if plan.gateway:
                gateway = {p: self._gateway_port(p) for p in self.gateway_ports_of(plan)}
            return PodPorts(
                port_map=port_map,
                proxy=proxy,
                admin=admin if admin is not None else envoy_proxy.ADMIN_PORT,
                gateway=gateway,
            )

    def _free_port(self) -> int:
        """A port free on every address (apps bind 0.0.0.0) and not handed out already."""
        while True:
            with socket.socket() as sock:
                sock.bind(("0.0.0.0", 0))
                port = int(sock.getsockname()[1])
            if port not in self._host_ports:
                self._host_ports.add(port)
                return port

    def _gateway_port(self, port: int) -> int:
        """127.0.0.1:``port`` when it is free and unprivileged, else ``port + 8000``, else any."""
        for candidate in (port, port + 8000):
            if candidate < _unprivileged_port_start() or candidate in self._host_ports:
                continue
            if candidate <= 65535 and _loopback_port_free(candidate):
                self._host_ports.add(candidate)
                return candidate
        return self._free_port()

    def _containers(
        self, plan: PodPlan, sandbox: PodSandbox, ip: str, ports: PodPorts
    ) -> list[ContainerSpec]:
        specs: list[ContainerSpec] = []
        if plan.inject:
            config = sandbox.workdir / "proxy" / "envoy.json"
            request = envoy_proxy.bootstrap_request(
                plan,
                ip,
                self.xds_socket,
                explicit_port=ports.proxy,
                admin_port=ports.admin,
                gateway_ports=ports.gateway,
                socket_mark=PROXY_MARK if self.mode is Mode.USERNS else None,
            )
            config.write_text(json.dumps(self.render_bootstrap(request)))
            os.chmod(config, 0o644)
            netns_file = sandbox.netns_file
            admin_port = ports.admin
            specs.append(
                ContainerSpec(
                    name="istio-proxy",
                    argv=tuple(envoy_proxy.envoy_argv(self._envoy, config)),
                    role="proxy",
                    restart_policy="Always",
                    readiness_probe=lambda: envoy_proxy.envoy_ready(netns_file, admin_port),
                    grace_seconds=5.0,
                )
            )
        if plan.gateway:
            return specs
        base_env = {
            "PATH": APP_PATH,
            "PYTHONPATH": str(self.pylib),
            "PYTHONUNBUFFERED": "1",
            "POD_NAME": plan.name,
            "POD_NAMESPACE": plan.namespace,
            "POD_IP": ip,
            "SERVICE_ACCOUNT": plan.service_account,
            "HOSTNAME": plan.name,
        }
        netns_file = sandbox.netns_file
        for c in plan.containers:
            if not c.argv:
                log.warning("container %s of pod %s has no command; skipped", c.name, plan.name)
                continue
            env = {**base_env, **dict(c.env)}
            if ports.port_map and c.ports:
                env["PORT"] = str(ports.port_map[c.ports[0][1]])
            specs.append(
                ContainerSpec(
                    name=c.name,
                    argv=c.argv,
                    env=env,
                    working_dir=Path(c.working_dir) if c.working_dir else None,
                    role="app",
                    restart_policy=plan.restart_policy,
                    readiness_probe=_tcp_probe(
                        netns_file, [ports.port_map.get(p, p) for _, p in c.ports]
                    ),
                    grace_seconds=5.0,
                )
            )
        return specs

    def _stop_pod(self, pod: RunningPod) -> None:
        if not pod.plan.gateway:
            self.publish(None, pod.plan.namespace, pod.plan.name)
        try:
            pod.supervisor.stop()
        finally:
            pod.sandbox.destroy()
            with self._lock:
                self._free_indexes.insert(0, pod.index)
                self._host_ports.difference_update(pod.ports.all())

    def _on_event(self, pod_name: str, container: str, event: str, detail: str) -> None:
        namespace, _, name = pod_name.partition("/")
        with self._lock:
            pod = self.pods.get((namespace, name))
        if pod is None or pod.plan.gateway or container in ("", "istio-proxy"):
            return
        if event in ("exited", "stopped", "stopping"):
            self.publish(None, namespace, name)  # endpoints drop while the app is down
        elif event == "ready":
            apps = [c for c in pod.supervisor.status().containers if c.role == "app"]
            others_ready = all(c.ready or c.name == container for c in apps)
            if others_ready:
                self.publish(pod.workload(), namespace, name)

    def _stage_pylib(self) -> Path:
        """A copy of sailmesh's sample apps readable by the pods' unprivileged users."""
        import sailmesh

        target = self.names.workdir / "pylib" / "sailmesh"
        source = Path(sailmesh.__file__).parent
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        shutil.copy2(source / "__init__.py", target / "__init__.py")
        if (source / "samples").is_dir():
            shutil.copytree(
                source / "samples", target / "samples", ignore=shutil.ignore_patterns("__pycache__")
            )
        for path in [target.parent, *target.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        return target.parent

    def find_pod(self, ref: str) -> RunningPod | None:
        """A pod by ``name``, ``ns/name``, ``name.ns`` or ``deploy/<deployment>``."""
        with self._lock:
            pods = list(self.pods.values())
        if ref.startswith("deploy/") or ref.startswith("deployment/"):
            owner = "Deployment/" + ref.split("/", 1)[1]
            return next((p for p in pods if p.plan.owner == owner), None)
        for p in pods:
            if ref in (
                p.plan.name,
                f"{p.plan.namespace}/{p.plan.name}",
                f"{p.plan.name}.{p.plan.namespace}",
            ):
                return p
        return None


def _unprivileged_port_start() -> int:
    """The lowest port an unprivileged process (Envoy runs as uid 1337) may bind."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text())
    except (OSError, ValueError):
        return 1024


def _loopback_port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Envoy binds listeners
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _spawn(sandbox: PodSandbox, spec: ContainerSpec, log_path: Path) -> subprocess.Popen[bytes]:
    """Start a container in its sandbox. The log file belongs to the container's user, so that
    a process writing to ``/dev/stdout`` by path (Envoy's access log) can reopen it."""
    proxy = spec.role == "proxy"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.touch()
    if os.geteuid() == 0:
        uid, gid = (PROXY_UID, PROXY_GID) if proxy else (sandbox.spec.app_uid, sandbox.spec.app_gid)
        os.chown(log_path, *(sandbox.owner or (uid, gid)))
    return sandbox.spawn(
        spec.argv, as_proxy=proxy, env=dict(spec.env), stdout=log_path, cwd=spec.working_dir
    )


def _tcp_probe(netns_file: Path | None, ports: list[int]) -> Callable[[], bool] | None:
    """Ready once every declared container port accepts connections (None: no ports declared)."""
    if not ports:
        return None

    def probe() -> bool:
        for port in ports:
            sock = socket_in_netns(netns_file)
            sock.setblocking(True)
            sock.settimeout(0.3)
            try:
                sock.connect(("127.0.0.1", port))
            except OSError:
                return False
            finally:
                sock.close()
        return True

    return probe


def _wait_apps_ready(supervisor: PodSupervisor, timeout: float) -> None:
    """Wait (bounded) until the pod's app containers pass their readiness probes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = supervisor.status()
        apps = [c for c in status.containers if c.role == "app"]
        if all(c.ready for c in apps) or status.phase in ("Succeeded", "Failed"):
            return
        time.sleep(0.02)
    log.warning("pod %s: apps not ready after %.0fs; continuing", supervisor.status().name, timeout)
