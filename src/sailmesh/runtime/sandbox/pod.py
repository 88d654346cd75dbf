"""A pod sandbox: one network namespace with its IP, route, hosts file and capture rules.

``netns`` mode: :meth:`PodSandbox.create` makes the namespace, wires it to the node bridge,
writes its hosts file and applies the capture rules; :meth:`PodSandbox.spawn` starts processes
inside it as the app uid or as the proxy (uid/gid 1337); :meth:`PodSandbox.destroy` kills them
by pid and removes everything.

``userns`` mode: the same, inside the run's user namespace (see ``userns``): the namespace,
links and rules are made through the run's :class:`~sailmesh.runtime.sandbox.userns.UsernsNode`,
the rules are the ``mark`` variant, every process runs as the namespace's root (the node's
unprivileged uid outside), and the hosts/resolv.conf files live in the pod's work directory
(``etc/``), bind-mounted over ``/etc`` in each process's own mount namespace.

``explicit`` mode: no namespace and no capture. The app's environment points ``http_proxy`` at
its sidecar's outbound listener on 127.0.0.1 (see :func:`explicit_proxy_env`). Limits: only
HTTP/1.1 clients that honour the proxy variables are meshed (no raw TCP, no HTTPS beyond
``CONNECT``, no gRPC libraries that ignore them); routing uses the Host header (absolute-form
request URI), not the destination IP; nothing captures inbound traffic, so the app must be
reached through its sidecar's inbound listener port explicitly; every pod shares the host's
loopback, so ports must not collide.
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
    apply_rules,
    render_rules,
)
from sailmesh.runtime.sandbox.errors import SandboxError
from sailmesh.runtime.sandbox.hosts import (
    RESOLV_CONF,
    ServiceName,
    render_hosts,
    write_in_place,
    write_netns_files,
)
from sailmesh.runtime.sandbox.modes import Mode
from sailmesh.runtime.sandbox.userns import UsernsNode

NOBODY = 65534
EXPLICIT_LIMITS = (
    "HTTP only: clients must honour http_proxy/HTTP_PROXY (no raw TCP, no transparent TLS)",
    "routing by the Host header of absolute-form requests, not by destination IP",
    "no inbound capture: callers must target the sidecar's inbound port explicitly",
    "all pods share the host loopback: ports must be unique across pods",
)


def explicit_proxy_env(outbound_port: int, no_proxy: Iterable[str] = ()) -> dict[str, str]:
    """Environment that sends an app's HTTP traffic to its sidecar on 127.0.0.1 (explicit mode)."""
    proxy = f"http://127.0.0.1:{outbound_port}"
    bypass = ",".join(dict.fromkeys(["localhost", "127.0.0.1", "::1", *no_proxy]))
    return {
        "http_proxy": proxy,
        "HTTP_PROXY": proxy,
        "no_proxy": bypass,
        "NO_PROXY": bypass,
    }


@dataclass(frozen=True)
class PodSpec:
    """What the sandbox needs to know about a pod."""

    name: str
    namespace: str = "default"
    index: int = 0
    app_uid: int = NOBODY
    app_gid: int = NOBODY
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    explicit_outbound_port: int = 15001  # explicit mode; 0: no sidecar, no proxy variables


class PodSandbox:
    """One pod's sandbox in a run (``netns``, ``userns`` with its node, or ``explicit``)."""

    def __init__(
        self,
        names: netns.RunNames,
        spec: PodSpec,
        mode: Mode = Mode.NETNS,
        subnet: netns.Subnet | None = None,
        node: UsernsNode | None = None,
    ) -> None:
        if mode is Mode.USERNS and node is None:
            raise SandboxError("a userns pod sandbox needs the run's UsernsNode")
        self.node = node if mode is Mode.USERNS else None
        self.names = names
        self.spec = spec
        self.mode = mode
        self.subnet = subnet or netns.Subnet()
        self.ns = names.pod_ns(spec.name)
        self.ip: str | None = None
        self.workdir = names.workdir / spec.name
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def netns_file(self) -> Path | None:
        """The namespace file (for forwarders), None in explicit mode."""
        if self.node is not None:
            return self.node.netns_file(self.ns)
        return netns.netns_path(self.ns) if self.mode is Mode.NETNS else None

    @property
    def owner(self) -> tuple[int, int] | None:
        """userns: the (uid, gid) every process of the pod runs as, outside the namespace."""
        return (self.node.uid, self.node.gid) if self.node is not None else None

    def create(self, services: Iterable[ServiceName] = ()) -> None:
        """Create the sandbox (idempotent); in netns mode also the run's node namespace."""
        self._make_workdirs()
        if self.mode is Mode.EXPLICIT:
            return
        if self.node is not None:
            self.ip = self.node.add_pod(self.ns, self.spec.index, self.subnet)
            self.update_hosts(services)
            self.node.apply_rules(self.ns, render_rules(self.spec.capture, "mark"))
            return
        netns.setup_node(self.names, self.subnet)
        netns.add(self.ns)
        self.ip = netns.attach_pod(self.names, self.ns, self.spec.index, self.subnet)
        self.update_hosts(services)
        apply_rules(self.ns, render_rules(self.spec.capture, "owner"))

    def _make_workdirs(self) -> None:
        for path in (self.names.workdir, self.workdir):
            path.mkdir(exist_ok=True)
            os.chmod(path, 0o755)  # umask-proof: the workloads' uids traverse it
        for sub, uid, gid in (
            ("app", self.spec.app_uid, self.spec.app_gid),
            ("proxy", PROXY_UID, PROXY_GID),
        ):
            path = self.workdir / sub
            path.mkdir(exist_ok=True)
            if os.geteuid() == 0:
                os.chown(path, *(self.owner or (uid, gid)))
        if self.node is not None:
            (self.workdir / "etc").mkdir(exist_ok=True)
            os.chmod(self.workdir / "etc", 0o755)

    def update_hosts(self, services: Iterable[ServiceName]) -> Path | None:
        """Rewrite the pod's hosts file in place (running processes see the change)."""
        if self.mode is Mode.EXPLICIT:
            return None
        text = render_hosts(self.spec.name, self.ip, self.spec.namespace, services)
        if self.node is not None:
            write_in_place(self.workdir / "etc" / "resolv.conf", RESOLV_CONF)
            write_in_place(self.workdir / "etc" / "hosts", text)
            return self.workdir / "etc" / "hosts"
        return write_netns_files(self.ns, text)

    def command(
        self, argv: Sequence[str], *, as_proxy: bool = False, cwd: Path | None = None
    ) -> list[str]:
        """The command line running ``argv`` in the pod as the app (default) or the proxy
        (``cwd``: the working directory, which userns mode must enter itself)."""
        uid, gid = (PROXY_UID, PROXY_GID) if as_proxy else (self.spec.app_uid, self.spec.app_gid)
        if self.mode is Mode.EXPLICIT:
            if os.geteuid() != 0:
                return list(argv)
            setpriv = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"]
            return setpriv + list(argv)
        if self.node is not None:  # one uid for all: Envoy is told apart by SO_MARK
            etc = self.workdir / "etc"
            workdir = cwd or self.workdir
            return self.node.pod_argv(self.ns, argv, etc / "hosts", etc / "resolv.conf", workdir)
        return netns.exec_argv(self.ns, argv, uid, gid)

    def environment(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment of a process in this pod (explicit mode adds the proxy variables)."""
        base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.workdir)}
        if self.mode is Mode.EXPLICIT and self.spec.explicit_outbound_port:
            base |= explicit_proxy_env(self.spec.explicit_outbound_port)
        return base | dict(env or {})

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
        if self.node is not None:
            self.node.delete_pod(self.ns)
        elif self.mode is Mode.NETNS:
            netns.delete(self.ns)
        shutil.rmtree(self.workdir, ignore_errors=True)
