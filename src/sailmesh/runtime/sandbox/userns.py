"""``userns`` mode: the pods' namespaces inside one unprivileged user namespace per run.

Layout of one run (``<p>`` is the run prefix ``sm-<run_id>-``)::

    host namespaces     untouched (no namespace names, mounts, links, addresses or rules)
    agent               ``unshare --user --map-root-user --net --mount`` as an unprivileged
                        user (``nobody`` when the runtime is root): "root" inside, with a
                        private tmpfs on /run/netns (see ``userns_agent``)
      <p>node           bridge ``br0`` with the gateway address
        vp<i> ──veth──▶ <p>pod-<pod>.<namespace>: ``eth0``, ``lo``, default route, the ``mark`` variant
                        of the capture rules (iptables-nft)

The runtime never enters these namespaces itself (an unprivileged, multi-threaded process
cannot). Commands run through ``nsenter --target <agent> --user --mount
--preserve-credentials [--net=<pod ns>]``: the caller's uid is the one mapped to root, so it
gets the namespace's capabilities, and the processes it starts are ordinary children of the
runtime (supervised, killed by pid). A pod process additionally gets its own mount namespace
in which the pod's hosts and resolv.conf files (in the work directory, edited in place) are
bind-mounted over ``/etc``. Sockets inside a pod (forwarders, readiness probes, the admin API)
are made by the agent and passed back over its Unix socket (``SCM_RIGHTS``).

Every process of a pod runs as the same uid (the namespace's root), so owner match cannot tell
Envoy apart: Envoy marks its upstream sockets with ``SO_MARK`` (``CAP_NET_ADMIN`` in the user
namespace suffices) and the rules skip marked packets. Stopping the agent (after the pods'
processes were killed) releases every namespace of the run.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from sailmesh.runtime.sandbox import forward, netns
from sailmesh.runtime.sandbox.capture import restore_binary
from sailmesh.runtime.sandbox.errors import SandboxError
from sailmesh.runtime.sandbox.netns import BRIDGE, POD_IFACE, RunNames, Subnet

NOBODY = 65534
SYSTEM_PYTHON = Path("/usr/bin/python3")
AGENT_START_TIMEOUT = 10.0
#: A new user namespace (we are its root) with its own network and mount namespaces.
UNSHARE_USER_NET = ("unshare", "--user", "--map-root-user", "--net", "--mount")
# Runs in the pod's own mount namespace: bind the pod's name files over /etc, enter the work
# directory (entering a mount namespace resets it to /), exec the workload (same pid).
_POD_SHIM = (
    'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/resolv.conf && cd "$3" '
    '&& shift 3 && exec "$@"'
)


def agent_identity() -> tuple[int, int]:
    """The (uid, gid) outside the user namespace: ours, or ``nobody`` when we are root (the
    mode is about unprivileged users; root running it exercises exactly that path)."""
    if os.geteuid() == 0:
        return NOBODY, NOBODY
    return os.getuid(), os.getgid()


def agent_python() -> str:
    """The interpreter of the agent: the system python3 (the venv's may live where the
    unprivileged user cannot read), else ours."""
    return str(SYSTEM_PYTHON) if SYSTEM_PYTHON.exists() else sys.executable


def probe_runtime() -> str | None:
    """None when the runtime's userns mode can run here (besides the kernel check), else why."""
    tools = ["unshare", "nsenter", "ip", "iptables-nft-restore", "mount"]
    if os.geteuid() == 0:
        tools.append("setpriv")
    absent = [t for t in tools if shutil.which(t) is None]
    if absent:
        return f"missing commands: {', '.join(absent)} (Debian packages util-linux, iproute2, iptables)"
    if os.geteuid() == 0:  # the agent runs as nobody: can nobody make the namespaces?
        argv = [*netns.setpriv_argv(NOBODY, NOBODY), *UNSHARE_USER_NET, "true"]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        if proc.returncode != 0:
            detail = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
            return f"unprivileged user namespaces are blocked for nobody: {detail}"
    return None


class UsernsNode:
    """The agent of one run, and the operations done inside its namespaces."""

    def __init__(self, names: RunNames) -> None:
        self.names = names
        self.uid, self.gid = agent_identity()
        self.dir = names.workdir / "agent"
        self.socket_path = self.dir / "agent.sock"
        self.pid: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._node_ready = False

    # --- lifecycle -------------------------------------------------------------------------
    @property
    def netns_dir(self) -> Path:
        """The agent's /run/netns, as seen from outside (through ``/proc/<pid>/root``)."""
        if self.pid is None:
            raise SandboxError("userns agent not started")
        return Path(f"/proc/{self.pid}/root/run/netns")

    def netns_file(self, ns: str) -> Path:
        return self.netns_dir / ns

    def _drop(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        return netns.setpriv_argv(self.uid, self.gid)

    def start(self) -> None:
        """Start the agent (idempotent) and wait until it serves its socket."""
        if self._proc is not None:
            return
        why = probe_runtime()
        if why is not None:
            raise SandboxError(f"userns mode: {why}")
        for path in (self.names.workdir, self.dir):
            path.mkdir(exist_ok=True)
            os.chmod(path, 0o755)
        if os.geteuid() == 0:
            os.chown(self.dir, self.uid, self.gid)
        script = self.dir / "userns_agent.py"
        shutil.copyfile(Path(__file__).with_name("userns_agent.py"), script)
        os.chmod(script, 0o644)
        argv = [
            *self._drop(),
            *UNSHARE_USER_NET,
            "--propagation",
            "private",
            "--fork",
            "--kill-child",
            agent_python(),
            str(script),
            str(self.socket_path),
        ]
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            cwd="/",
        )
        self._proc = proc
        assert proc.stdout is not None and proc.stderr is not None
        ready, _, _ = select.select([proc.stdout], [], [], AGENT_START_TIMEOUT)
        line = proc.stdout.readline().decode(errors="replace").split() if ready else []
        if len(line) != 2 or line[0] != "ready":
            self.stop()
            err = proc.stderr.read().decode(errors="replace").strip() if proc.poll() else ""
            raise SandboxError(f"the userns agent did not start: {err or 'no ready line'}")
        self.pid = int(line[1])
        forward.register_netns_dir(self.netns_dir, self.socket)

    def stop(self) -> None:
        """Stop the agent (its namespaces go with it). Pods' processes must be gone first."""
        if self.pid is not None:
            forward.unregister_netns_dir(self.netns_dir)
            netns.kill_pids([self.pid])  # unshare --kill-child ignores SIGTERM: the agent itself
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        self.pid = None
        self._node_ready = False

    # --- commands inside the user namespace -------------------------------------------------
    def enter_argv(self, argv: Sequence[str], ns: str | None = None) -> list[str]:
        """``argv`` run as the namespace's root, in the agent's mount namespace, and in the
        network namespace ``ns`` (else the agent's own)."""
        if self.pid is None:
            raise SandboxError("userns agent not started")
        enter = ["nsenter", f"--target={self.pid}", "--user", "--mount", "--preserve-credentials"]
        # Always a network namespace of ours: `ip netns add` switches back to where it started.
        enter.append("--net" if ns is None else f"--net={self.netns_file(ns)}")
        return [*self._drop(), *enter, "--", *argv]

    def run(self, argv: Sequence[str], ns: str | None = None, input_text: str | None = None) -> str:
        return netns.run(self.enter_argv(argv, ns), input_text=input_text)

    def pod_argv(
        self, ns: str, argv: Sequence[str], hosts: Path, resolv: Path, cwd: Path
    ) -> list[str]:
        """The command line running ``argv`` in pod ``ns`` with its own name files."""
        shim = ["unshare", "--mount", "--", "/bin/sh", "-c", _POD_SHIM, "sh"]
        return self.enter_argv([*shim, str(hosts), str(resolv), str(cwd), *argv], ns)

    def _link_exists(self, ns: str, link: str) -> bool:
        argv = self.enter_argv(["ip", "-n", ns, "link", "show", link])
        return subprocess.run(argv, capture_output=True, timeout=30, check=False).returncode == 0

    def _add_netns(self, ns: str) -> None:
        if not self.netns_file(ns).exists():
            self.run(["ip", "netns", "add", ns])
        self.run(["ip", "-n", ns, "link", "set", "lo", "up"])

    def setup_node(self, subnet: Subnet) -> None:
        """The node namespace with the bridge and the gateway address (once)."""
        with self._lock:
            if self._node_ready:
                return
            ns = self.names.node_ns
            self._add_netns(ns)
            if not self._link_exists(ns, BRIDGE):
                self.run(["ip", "-n", ns, "link", "add", BRIDGE, "type", "bridge"])
            gateway = f"{subnet.gateway}/{subnet.network.prefixlen}"
            self.run(["ip", "-n", ns, "addr", "replace", gateway, "dev", BRIDGE])
            self.run(["ip", "-n", ns, "link", "set", BRIDGE, "up"])
            self._node_ready = True

    def add_pod(self, ns: str, index: int, subnet: Subnet) -> str:
        """Create ``ns`` and wire it to the bridge (veth, address, default route); its IP."""
        self.setup_node(subnet)
        self._add_netns(ns)
        node, host_end = self.names.node_ns, f"vp{index}"
        if self._link_exists(node, host_end):
            self.run(["ip", "-n", node, "link", "del", host_end])
        peer = ["peer", "name", POD_IFACE, "netns", ns]
        self.run(["ip", "-n", node, "link", "add", host_end, "type", "veth", *peer])
        self.run(["ip", "-n", node, "link", "set", host_end, "master", BRIDGE, "up"])
        ip = subnet.pod_ip(index)
        self.run(
            [
                "ip",
                "-n",
                ns,
                "addr",
                "replace",
                f"{ip}/{subnet.network.prefixlen}",
                "dev",
                POD_IFACE,
            ]
        )
        self.run(["ip", "-n", ns, "link", "set", POD_IFACE, "up"])
        self.run(["ip", "-n", ns, "route", "replace", "default", "via", subnet.gateway])
        return ip

    def apply_rules(self, ns: str, script: str) -> None:
        self.run([restore_binary()], ns, input_text=script)

    def dump_rules(self, ns: str) -> str:
        return self.run([restore_binary().replace("-restore", "-save"), "-t", "nat"], ns)

    def delete_pod(self, ns: str) -> None:
        """Remove the pod namespace (its veth goes with it). Its processes must be gone."""
        if self._proc is None or self._proc.poll() is not None:
            return
        if self.netns_file(ns).exists():
            self.run(["ip", "netns", "del", ns])

    # --- sockets inside pods -----------------------------------------------------------------
    def socket(self, ns: str, family: int = socket.AF_INET) -> socket.socket:
        """A new TCP socket created inside pod namespace ``ns`` (by the agent)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(10)
            conn.connect(str(self.socket_path))
            conn.sendall(json.dumps({"op": "socket", "ns": ns, "family": int(family)}).encode())
            conn.sendall(b"\n")
            msg, fds, _, _ = socket.recv_fds(conn, 4096, 1)
        reply = json.loads(msg.split(b"\n", 1)[0] or b"{}")
        if not reply.get("ok") or not fds:
            for fd in fds:
                os.close(fd)
            raise OSError(f"userns agent: no socket in {ns}: {reply.get('error', 'no reply')}")
        return socket.socket(fileno=fds[0])

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None
