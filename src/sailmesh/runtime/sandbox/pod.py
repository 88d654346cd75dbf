"""A pod sandbox: one pod's namespace, IP, hosts file, capture rules and processes.

:class:`PodSandbox` holds what belongs to one pod (its spec, namespace name, IP, work
directory and processes) and asks the run's :class:`~sailmesh.runtime.sandbox.strategy.
Sandbox` strategy for what its mode does differently: :meth:`PodSandbox.create` makes the work
directories, then the strategy attaches the pod (namespace, IP), writes its hosts file and
applies its capture rules; :meth:`PodSandbox.spawn` starts processes inside it as the app uid or
as the proxy (uid/gid 1337, or the one uid of ``userns``); :meth:`PodSandbox.destroy` kills them
by pid and removes everything. The modes: :mod:`.netns_mode`, :mod:`.userns_mode`,
:mod:`.explicit_mode`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sailmesh.runtime.sandbox import netns
from sailmesh.runtime.sandbox.capture import (
    PROXY_GID,
    PROXY_UID,
    CaptureConfig,
    Variant,
    render_rules,
)
from sailmesh.runtime.sandbox.explicit_mode import EXPLICIT_LIMITS, explicit_proxy_env
from sailmesh.runtime.sandbox.hosts import ServiceName, render_hosts
from sailmesh.runtime.sandbox.modes import Mode
from sailmesh.runtime.sandbox.servicelb import ServiceBackend, render_service_rules
from sailmesh.runtime.sandbox.strategies import sandbox_for
from sailmesh.runtime.sandbox.strategy import ExecCommand, Sandbox
from sailmesh.runtime.sandbox.userns import UsernsNode

__all__ = ["EXPLICIT_LIMITS", "NOBODY", "PodSandbox", "PodSpec", "explicit_proxy_env"]

NOBODY = 65534


@dataclass(frozen=True)
class PodSpec:
    """What the sandbox needs to know about a pod."""

    name: str
    namespace: str = "default"
    index: int = 0
    app_uid: int = NOBODY
    app_gid: int = NOBODY
    #: Istio's capture rules for the pod's sidecar; None: no sidecar, so no capture (the pod
    #: reaches Services through :mod:`.servicelb` rules instead).
    capture: CaptureConfig | None = field(default_factory=CaptureConfig)
    explicit_outbound_port: int = 15001  # explicit mode; 0: no sidecar, no proxy variables


class PodSandbox:
    """One pod's sandbox in a run. ``strategy`` is the run's (else one is made from ``mode``,
    ``subnet`` and, for ``userns``, the run's ``node``)."""

    def __init__(
        self,
        names: netns.RunNames,
        spec: PodSpec,
        mode: Mode = Mode.NETNS,
        subnet: netns.Subnet | None = None,
        node: UsernsNode | None = None,
        *,
        strategy: Sandbox | None = None,
    ) -> None:
        self.strategy = strategy or sandbox_for(mode, names, subnet, node)
        self.names = names
        self.spec = spec
        self.ns = names.pod_ns(spec.name, spec.namespace)
        self.ip: str | None = None
        self.workdir = names.pod_workdir(spec.name, spec.namespace)
        self.processes: list[subprocess.Popen[bytes]] = []
        #: Without a sidecar: the Service backends its rules send VIP traffic to.
        self.backends: tuple[ServiceBackend, ...] = ()

    @property
    def mode(self) -> Mode:
        return self.strategy.mode

    @property
    def node(self) -> UsernsNode | None:
        """userns: the run's agent; None in the other modes."""
        return self.strategy.node

    @property
    def subnet(self) -> netns.Subnet:
        return self.strategy.subnet

    @property
    def netns_file(self) -> Path | None:
        """The namespace file (for forwarders), None in explicit mode."""
        return self.strategy.netns_file(self.ns)

    @property
    def owner(self) -> tuple[int, int] | None:
        """userns: the (uid, gid) every process of the pod runs as, outside the namespace."""
        return self.strategy.owner()

    def identity(self, *, as_proxy: bool = False) -> tuple[int, int]:
        """The (uid, gid) a process of the pod asks for: the proxy's or the app's."""
        return (PROXY_UID, PROXY_GID) if as_proxy else (self.spec.app_uid, self.spec.app_gid)

    def file_owner(self, *, as_proxy: bool = False) -> tuple[int, int]:
        """Who must own a file such a process writes (the mode's one uid, if it has one)."""
        return self.owner or self.identity(as_proxy=as_proxy)

    def create(self, services: Iterable[ServiceName] = ()) -> None:
        """Create the sandbox (idempotent); in netns mode also the run's node namespace."""
        self._make_workdirs()
        self.ip = self.strategy.attach(self)
        self.update_hosts(services)
        self.strategy.apply_rules(self)

    def _make_workdirs(self) -> None:
        for path in (self.names.workdir, self.workdir):
            path.mkdir(exist_ok=True)
            os.chmod(path, 0o755)  # umask-proof: the workloads' uids traverse it
        for sub, as_proxy in (("app", False), ("proxy", True)):
            path = self.workdir / sub
            path.mkdir(exist_ok=True)
            if os.geteuid() == 0:
                os.chown(path, *self.file_owner(as_proxy=as_proxy))

    def rules_script(self, variant: Variant) -> str:
        """The pod's ``iptables-restore`` script: Istio's capture rules (``variant`` tells how
        Envoy is recognised) when it has a sidecar, else its Service VIP translation."""
        if self.spec.capture is None:
            return render_service_rules(self.backends)
        return render_rules(self.spec.capture, variant)

    def update_backends(self, backends: Iterable[ServiceBackend]) -> bool:
        """Without a sidecar: re-apply the rules when the Service backends changed (whether
        they did). With one, Envoy balances Services and nothing changes here."""
        wanted = tuple(sorted(backends))
        if self.spec.capture is not None or wanted == self.backends:
            return False
        self.backends = wanted
        self.strategy.apply_rules(self)
        return True

    def hosts_text(self, services: Iterable[ServiceName]) -> str:
        """The pod's hosts file: itself, then the services' names and VIPs."""
        return render_hosts(self.spec.name, self.ip, self.spec.namespace, services)

    def update_hosts(self, services: Iterable[ServiceName]) -> Path | None:
        """Rewrite the pod's hosts file in place (running processes see the change)."""
        return self.strategy.update_hosts(self, services)

    def command(
        self, argv: Sequence[str], *, as_proxy: bool = False, cwd: Path | None = None
    ) -> list[str]:
        """The command line running ``argv`` in the pod as the app (default) or the proxy
        (``cwd``: the working directory, which userns mode must enter itself)."""
        return self.strategy.command(self, argv, *self.identity(as_proxy=as_proxy), cwd)

    def environment(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment of a process in this pod (explicit mode adds the proxy variables)."""
        base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.workdir)}
        return base | self.strategy.proxy_env(self) | dict(env or {})

    def exec_command(self, command: Sequence[str], container: str) -> ExecCommand:
        """How ``sailctl exec`` runs ``command`` in this pod as ``container``."""
        return self.strategy.exec_command(self, command, container)

    def spawn(
        self,
        argv: Sequence[str],
        *,
        as_proxy: bool = False,
        env: Mapping[str, str] | None = None,
        stdout: Path | None = None,
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start a long-running process in the pod; it is killed (by pid) on :meth:`destroy`."""
        out = open(stdout, "ab") if stdout else subprocess.DEVNULL  # noqa: SIM115
        try:
            proc = subprocess.Popen(
                self.command(argv, as_proxy=as_proxy, cwd=cwd),
                env=self.environment(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=cwd or self.workdir,
            )
        finally:
            if stdout:
                out.close()  # type: ignore[union-attr]
        self.processes.append(proc)
        return proc

    def run(
        self,
        argv: Sequence[str],
        *,
        as_proxy: bool = False,
        env: Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run a short command in the pod and return its result (not checked)."""
        return subprocess.run(
            self.command(argv, as_proxy=as_proxy),
            env=self.environment(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.workdir,
            check=False,
        )

    def destroy(self) -> None:
        """Kill the pod's processes by pid, then remove its namespace and files."""
        netns.kill_pids([p.pid for p in self.processes if p.poll() is None])
        for proc in self.processes:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.processes.clear()
        self.strategy.destroy(self)
        shutil.rmtree(self.workdir, ignore_errors=True)
