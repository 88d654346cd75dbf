"""A pod plan's containers, as the supervisor runs them in the pod's sandbox.

In: a :class:`~sailmesh.runtime.workloads.PodPlan`, its :class:`~sailmesh.runtime.sandbox.pod.
PodSandbox` (IP, namespace file, work directory) and :class:`~sailmesh.runtime.ports.PodPorts`.
Out: :class:`~sailmesh.runtime.supervisor.ContainerSpec` values: the sidecar (``istio-proxy``:
Envoy with its bootstrap written to the pod's ``proxy/envoy.json``, ready when its admin
``/ready`` answers) and the app containers (their environment, and a TCP readiness probe on
their declared ports), plus the spawner that starts a container in its sandbox.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sailmesh.runtime import proxy as envoy_proxy
from sailmesh.runtime.ports import PodPorts
from sailmesh.runtime.sandbox.forward import socket_in_netns
from sailmesh.runtime.sandbox.pod import PodSandbox
from sailmesh.runtime.sandbox.strategy import APP_PATH, PROXY_CONTAINER
from sailmesh.runtime.supervisor import ContainerSpec, PodStartError
from sailmesh.runtime.workloads import ContainerPlan, PodPlan
from sailmesh.samples.images import known_names

GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class ProxySetup:
    """What every pod's sidecar needs of the run: Envoy, the ADS socket, the bootstrap."""

    envoy: Path
    xds_socket: Path
    render_bootstrap: envoy_proxy.BootstrapRenderer
    socket_mark: int | None = None  # userns mode: Envoy's SO_MARK
    agent_socket: Path | None = None  # the control plane's socket behind 15020
    metrics_ports: bool = True  # False when pods share the host's network (explicit mode)


def proxy_container(
    setup: ProxySetup,
    plan: PodPlan,
    sandbox: PodSandbox,
    ip: str,
    ports: PodPorts,
    sds_socket: Path | None = None,
) -> ContainerSpec:
    """The sidecar (or gateway) Envoy of the pod, its bootstrap written to the work dir
    (``sds_socket``: its node agent, when the pod has a workload identity)."""
    config = sandbox.workdir / "proxy" / "envoy.json"
    request = envoy_proxy.bootstrap_request(
        plan,
        ip,
        setup.xds_socket,
        explicit_port=ports.proxy,
        admin_port=ports.admin,
        gateway_ports=ports.gateway,
        socket_mark=setup.socket_mark,
        agent_socket=setup.agent_socket,
        metrics_ports=setup.metrics_ports,
        sds_socket=sds_socket,
    )
    config.write_text(json.dumps(setup.render_bootstrap(request)))
    os.chmod(config, 0o644)
    netns_file, admin_port = sandbox.netns_file, ports.admin
    return ContainerSpec(
        name=PROXY_CONTAINER,
        argv=tuple(envoy_proxy.envoy_argv(setup.envoy, config)),
        role="proxy",
        restart_policy="Always",
        readiness_probe=lambda: envoy_proxy.envoy_ready(netns_file, admin_port),
        grace_seconds=GRACE_SECONDS,
    )


def base_env(plan: PodPlan, ip: str, pylib: Path) -> dict[str, str]:
    """The environment every app container of the pod starts from."""
    return {
        "PATH": APP_PATH,
        "PYTHONPATH": str(pylib),
        "PYTHONUNBUFFERED": "1",
        "POD_NAME": plan.name,
        "POD_NAMESPACE": plan.namespace,
        "POD_IP": ip,
        "SERVICE_ACCOUNT": plan.service_account,
        "HOSTNAME": plan.name,
    }


def app_containers(
    plan: PodPlan, netns_file: Path | None, ports: PodPorts, env: Mapping[str, str]
) -> list[ContainerSpec]:
    """The pod's app containers; :class:`PodStartError` for one with nothing to run."""
    specs: list[ContainerSpec] = []
    for c in plan.containers:
        if not c.argv:
            raise PodStartError(f"{plan.namespace}/{plan.name}", c.name, no_command(plan, c), [])
        container_env = {**env, **dict(c.env)}
        if ports.port_map and c.ports:
            container_env["PORT"] = str(ports.port_map[c.ports[0][1]])
        specs.append(
            ContainerSpec(
                name=c.name,
                argv=c.argv,
                env=container_env,
                working_dir=Path(c.working_dir) if c.working_dir else None,
                role="app",
                restart_policy=plan.restart_policy,
                readiness_probe=tcp_probe(
                    netns_file, [ports.port_map.get(p, p) for _, p in c.ports]
                ),
                grace_seconds=GRACE_SECONDS,
            )
        )
    return specs


def no_command(plan: PodPlan, container: ContainerPlan) -> str:
    """Why a container with no command cannot start, naming its owner and image."""
    kind, _, name = plan.owner.partition("/")
    image = f"image {container.image!r}" if container.image else "no image"
    return (
        f"cannot start: {kind} {plan.namespace}/{name} gives it {image} and no command, and "
        f"sailmesh has no stand-in for that image (it has: {', '.join(known_names())}); "
        "give the container a command"
    )


def missing_executable(spec: ContainerSpec) -> str | None:
    """Why ``spec``'s command cannot start (its executable is not found), or None.

    Pods share the host's file system, so the lookup is the one ``exec`` would do: ``argv[0]``
    on the container's ``PATH``, or as a path (relative ones against its working directory).
    """
    command = spec.argv[0]
    if "/" not in command:
        found = shutil.which(command, path=spec.env.get("PATH", APP_PATH))
        return None if found else f"executable {command!r} not found in $PATH"
    path = Path(command)
    if not path.is_absolute():
        if spec.working_dir is None:
            return None  # relative to the pod's work directory: nothing to check up front
        path = spec.working_dir / path
    if path.is_file() and os.access(path, os.X_OK):
        return None
    return f"executable {command!r} not found"


def spawn(sandbox: PodSandbox, spec: ContainerSpec, log_path: Path) -> subprocess.Popen[bytes]:
    """Start a container in its sandbox. The log file belongs to the container's user, so that
    a process writing to ``/dev/stdout`` by path (Envoy's access log) can reopen it."""
    proxy = spec.role == "proxy"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.touch()
    if os.geteuid() == 0:
        os.chown(log_path, *sandbox.file_owner(as_proxy=proxy))
    return sandbox.spawn(
        spec.argv, as_proxy=proxy, env=dict(spec.env), stdout=log_path, cwd=spec.working_dir
    )


def tcp_probe(netns_file: Path | None, ports: list[int]) -> Callable[[], bool] | None:
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


def stage_pylib(run_workdir: Path) -> Path:
    """A copy of sailmesh's sample apps, readable by the pods' unprivileged users, under the
    run's work directory; the directory to put on their ``PYTHONPATH``."""
    import sailmesh

    target = run_workdir / "pylib" / "sailmesh"
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
