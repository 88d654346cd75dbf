"""Named network namespaces, the node bridge and pod veth pairs (``netns`` mode, needs root).

Layout of one run (``<p>`` is the run prefix ``sm-<run_id>-``)::

    host namespace      untouched: no addresses, routes, links or iptables rules are added
    <p>node             bridge ``br0`` with the gateway address (e.g. 10.244.0.1/24)
      vp<i> ──veth──▶   <p>pod-<pod>.<namespace>: ``eth0`` with the pod IP, ``lo`` up,
                        default route via the gateway, capture rules (see ``capture``)

Both veth ends are created inside our namespaces (``ip -n <node> link add ... peer ... netns
<pod>``), so no link ever appears in the host namespace. Deleting a namespace removes its links;
:func:`cleanup` finds everything of a run by its prefix (namespaces, ``/etc/netns`` entries, the
work directory) and kills leftover processes inside those namespaces by pid.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sailmesh.clock import SYSTEM_CLOCK, Clock
from sailmesh.runtime.sandbox.errors import CommandFailed
from sailmesh.runtime.sandbox.hosts import ETC_NETNS, netns_etc_dir

NETNS_DIR = Path("/run/netns")
BRIDGE = "br0"
POD_IFACE = "eth0"
_RUN_ID = re.compile(r"^[a-z0-9]{1,12}$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_DNS_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")
#: Longest per-pod key: with the longest prefix (``sm-<12>-pod-``) names stay <= 64 chars.
_POD_KEY_MAX = 44


def new_run_id() -> str:
    """A short random id naming one runtime instance (so parallel runs never collide)."""
    return secrets.token_hex(3)


@dataclass(frozen=True)
class RunNames:
    """Every host-visible name of one run, derived from its id."""

    run_id: str

    def __post_init__(self) -> None:
        if not _RUN_ID.match(self.run_id):
            raise ValueError(f"run id must match {_RUN_ID.pattern}: {self.run_id!r}")

    @property
    def prefix(self) -> str:
        """The prefix of every namespace and file of this run."""
        return f"sm-{self.run_id}-"

    @property
    def node_ns(self) -> str:
        """The node namespace holding the bridge."""
        return f"{self.prefix}node"

    def pod_key(self, pod: str, namespace: str = "default") -> str:
        """The run-unique name of pod ``pod`` of ``namespace``: ``<pod>.<namespace>`` (the
        proxy id's form), or, when that is long or not a plain DNS name, its start and a hash
        of both (a file name, never a path; the dot keeps it apart from ``node``, ``agent``)."""
        key = f"{pod}.{namespace}"
        if len(key) <= _POD_KEY_MAX and _DNS_LABEL.match(namespace) and _DNS_NAME.match(pod):
            return key
        digest = hashlib.sha256(f"{namespace}/{pod}".encode()).hexdigest()[:10]
        start = re.sub(r"[^a-z0-9.-]+", "-", key.lower())[: _POD_KEY_MAX - 12].strip(".-")
        return f"{start or 'pod'}.h{digest}"

    def pod_ns(self, pod: str, namespace: str = "default") -> str:
        """The network namespace (and ``/etc/netns`` entry) of ``pod`` of ``namespace``."""
        return f"{self.prefix}pod-{self.pod_key(pod, namespace)}"

    def pod_workdir(self, pod: str, namespace: str = "default") -> Path:
        """The work directory (configs, logs) of ``pod`` of ``namespace``."""
        return self.workdir / self.pod_key(pod, namespace)

    @property
    def workdir(self) -> Path:
        """The run's work directory (configs and logs of the processes it starts)."""
        return Path(tempfile.gettempdir()) / f"{self.prefix}work"


@dataclass(frozen=True)
class Subnet:
    """The pod network of a run; it only exists inside the run's namespaces."""

    cidr: str = "10.244.0.0/24"

    @property
    def network(self) -> ipaddress.IPv4Network:
        """The parsed network."""
        return ipaddress.IPv4Network(self.cidr)

    @property
    def gateway(self) -> str:
        """The bridge address, first host of the subnet."""
        return str(self.network.network_address + 1)

    def pod_ip(self, index: int) -> str:
        """The address of pod number ``index`` (0-based; the gateway is skipped)."""
        address = self.network.network_address + 2 + index
        if address >= self.network.broadcast_address:
            raise ValueError(f"pod index {index} does not fit in {self.cidr}")
        return str(address)


def run(argv: Sequence[str], *, input_text: str | None = None, check: bool = True) -> str:
    """Run a command, return its stdout; raise :class:`CommandFailed` on failure if ``check``."""
    try:
        proc = subprocess.run(
            list(argv), input=input_text, capture_output=True, text=True, timeout=30, check=False
        )
    except FileNotFoundError as exc:
        raise CommandFailed(argv, 127, f"{exc} (install iproute2 / iptables)") from exc
    if check and proc.returncode != 0:
        raise CommandFailed(argv, proc.returncode, proc.stderr)
    return proc.stdout


def netns_path(name: str) -> Path:
    """The bind-mounted namespace file of ``name`` (open it to ``setns`` into the namespace)."""
    return NETNS_DIR / name


def exists(name: str) -> bool:
    """Whether the named network namespace exists."""
    return netns_path(name).exists()


def list_netns(prefix: str) -> list[str]:
    """Names of the existing network namespaces starting with ``prefix``."""
    if not NETNS_DIR.is_dir() or shutil.which("ip") is None:
        return []
    names = (line.split()[0] for line in run(["ip", "netns", "list"]).splitlines() if line)
    return sorted(n for n in names if n.startswith(prefix))


def add(name: str) -> None:
    """Create the namespace (idempotent) and bring its loopback up."""
    if not exists(name):
        run(["ip", "netns", "add", name])
    run(["ip", "-n", name, "link", "set", "lo", "up"])


def pids(name: str) -> list[int]:
    """Pids of the processes running inside the namespace."""
    if not exists(name):
        return []
    return [int(p) for p in run(["ip", "netns", "pids", name], check=False).split()]


def kill_pids(pid_list: Sequence[int], grace: float = 2.0, clock: Clock = SYSTEM_CLOCK) -> None:
    """SIGTERM the given pids, then SIGKILL those still alive after ``grace`` seconds."""
    for pid in pid_list:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = clock.monotonic() + grace
    alive = list(pid_list)
    while alive and clock.monotonic() < deadline:
        alive = [p for p in alive if Path(f"/proc/{p}").exists() and not _zombie(p)]
        clock.sleep(0.02)
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def delete(name: str) -> None:
    """Kill the namespace's processes (by pid), delete it and its ``/etc/netns`` entry."""
    kill_pids(pids(name))
    if exists(name):
        run(["ip", "netns", "del", name])
    shutil.rmtree(netns_etc_dir(name), ignore_errors=True)


def _link_exists(ns: str, link: str) -> bool:
    argv = ["ip", "-n", ns, "link", "show", link]
    return subprocess.run(argv, capture_output=True, timeout=30, check=False).returncode == 0


def setup_node(names: RunNames, subnet: Subnet) -> None:
    """Create the node namespace with the bridge and the gateway address (idempotent)."""
    ns = names.node_ns
    add(ns)
    if not _link_exists(ns, BRIDGE):
        run(["ip", "-n", ns, "link", "add", BRIDGE, "type", "bridge"])
    gateway = f"{subnet.gateway}/{subnet.network.prefixlen}"
    run(["ip", "-n", ns, "addr", "replace", gateway, "dev", BRIDGE])
    run(["ip", "-n", ns, "link", "set", BRIDGE, "up"])


def attach_pod(names: RunNames, pod_ns: str, index: int, subnet: Subnet) -> str:
    """Wire ``pod_ns`` to the bridge: veth, address, default route, low ports open to every
    uid. Returns the pod IP."""
    node, host_end = names.node_ns, f"vp{index}"
    if not _link_exists(node, host_end):
        if _link_exists(pod_ns, POD_IFACE):  # half-made pair from an interrupted attempt
            run(["ip", "-n", pod_ns, "link", "del", POD_IFACE])
        peer = ["peer", "name", POD_IFACE, "netns", pod_ns]
        run(["ip", "-n", node, "link", "add", host_end, "type", "veth", *peer])
    run(["ip", "-n", node, "link", "set", host_end, "master", BRIDGE, "up"])
    ip = subnet.pod_ip(index)
    address = f"{ip}/{subnet.network.prefixlen}"
    run(["ip", "-n", pod_ns, "addr", "replace", address, "dev", POD_IFACE])
    run(["ip", "-n", pod_ns, "link", "set", POD_IFACE, "up"])
    run(["ip", "-n", pod_ns, "route", "replace", "default", "via", subnet.gateway])
    # As container runtimes do for pods: the app (an unprivileged uid) may bind ports below
    # 1024 (httpbin's 80), in this pod's own network namespace only.
    run(["ip", "netns", "exec", pod_ns, "sysctl", "-qw", "net.ipv4.ip_unprivileged_port_start=0"])
    return ip


def exec_argv(
    ns: str, argv: Sequence[str], uid: int | None = None, gid: int | None = None
) -> list[str]:
    """The command line running ``argv`` inside ``ns``, optionally as ``uid``/``gid``.

    ``ip netns exec`` enters the namespace, mounts ``/etc/netns/<ns>/*`` over ``/etc`` and execs
    ``setpriv``, which drops to the uid/gid with no supplementary groups and execs ``argv``;
    the pid of the started process is therefore the pid of the workload itself.
    """
    prefix = ["ip", "netns", "exec", ns]
    if uid is not None:
        prefix += setpriv_argv(uid, uid if gid is None else gid)
    return prefix + list(argv)


def setpriv_argv(uid: int, gid: int) -> list[str]:
    """The prefix that runs a command as ``uid``/``gid`` with no supplementary groups (root
    only; ``setpriv`` execs the command, so its pid stays the workload's)."""
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"]


def mounts_with(prefix: str) -> list[str]:
    """Mount points of this mount namespace whose path contains ``prefix``."""
    points = (line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines())
    return [p for p in points if prefix in p]


def processes_of(workdir: Path) -> list[int]:
    """Pids of the processes (not ours) whose command line names ``workdir`` or whose current
    directory lies in it: what a run started, also after the run itself was killed."""
    found: list[int] = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if str(workdir) in cmdline or cwd == str(workdir) or cwd.startswith(f"{workdir}/"):
            found.append(int(proc.name))
    return found


def cleanup(run_id: str) -> list[str]:
    """Remove everything run ``run_id`` created; return what was removed.

    First the processes of the run's work directory (:func:`processes_of`: Envoys, the userns
    agent, which takes its namespaces with it, pods of any mode), then pod namespaces (killing
    their processes by pid), the node namespace (which takes the bridge and the veth ends with
    it), ``/etc/netns`` entries and the work directory.
    """
    names = RunNames(run_id)
    removed: list[str] = []
    strays = processes_of(names.workdir)
    kill_pids(strays)
    removed += [f"process {pid}" for pid in strays]
    for ns in sorted(list_netns(names.prefix), key=lambda n: n == names.node_ns):
        delete(ns)
        removed.append(f"netns {ns}")
    if ETC_NETNS.is_dir():
        for entry in ETC_NETNS.iterdir():
            if entry.name.startswith(names.prefix):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(f"dir {entry}")
    if names.workdir.exists():
        shutil.rmtree(names.workdir, ignore_errors=True)
        removed.append(f"dir {names.workdir}")
    return removed
