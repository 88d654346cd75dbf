"""The :class:`Sandbox` strategy: everything a sandbox mode does differently, chosen once per run.

In: the run's names and pod subnet (and, in ``userns`` mode, the run's agent). Out, for one pod
(a :class:`~sailmesh.runtime.sandbox.pod.PodSandbox` holds the pod's own state and asks its
strategy): its address and capture rules, its namespace file, its hosts file, the command
line and environment of its processes (as the app or as the proxy), removal, and the
:class:`ExecCommand` of ``sailctl exec``. For the run: the node (netns: the bridge namespace;
userns: the agent), the owner of the ADS socket, Envoy's socket mark, whether pods get host
ports and gateways bind 127.0.0.1 themselves (explicit), and the mode's limits.

Implementations: :mod:`.netns_mode`, :mod:`.userns_mode`, :mod:`.explicit_mode`; the one
place that picks among them is :mod:`.strategies`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sailmesh.runtime.sandbox.capture import PROXY_GID, PROXY_UID
from sailmesh.runtime.sandbox.hosts import ServiceName
from sailmesh.runtime.sandbox.modes import Mode
from sailmesh.runtime.sandbox.netns import RunNames, Subnet

if TYPE_CHECKING:
    from sailmesh.runtime.sandbox.pod import PodSandbox
    from sailmesh.runtime.sandbox.userns import UsernsNode

#: The sidecar's container name; ``sailctl exec -c istio-proxy`` runs as the proxy.
PROXY_CONTAINER = "istio-proxy"
#: ``PATH`` of the processes the runtime starts for apps (and of ``sailctl exec``).
APP_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class ExecCommand:
    """How to run a command in a pod as one of its containers: argv, environment, directory."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    cwd: Path

    def to_json(self) -> dict[str, Any]:
        return {"argv": list(self.argv), "env": dict(self.env), "cwd": str(self.cwd)}


class Sandbox(ABC):
    """One sandbox mode for one run. Subclasses set the class attributes and the per-pod steps."""

    mode: ClassVar[Mode]
    #: What the mode cannot do (printed at start, listed by ``sailctl status``).
    limits: ClassVar[tuple[str, ...]] = ()
    #: Explicit mode: pods share the host, so each gets host ports for its containerPorts.
    host_ports: ClassVar[bool] = False
    #: Explicit mode: a gateway binds 127.0.0.1 itself (else a forwarder reaches its pod).
    gateways_bind_loopback: ClassVar[bool] = False

    def __init__(
        self, names: RunNames, subnet: Subnet | None = None, node: UsernsNode | None = None
    ) -> None:
        self.names = names
        self.subnet = subnet or Subnet()

    @classmethod
    def for_run(cls, names: RunNames, subnet: Subnet | None = None) -> Sandbox:
        """The strategy of a new run, with whatever run-wide helper it needs (userns: its agent)."""
        return cls(names, subnet)

    @classmethod
    def runtime_requirements(cls) -> str | None:
        """Why the runtime cannot use this mode here, beyond the kernel probe; None when it can."""
        return None

    # --- the run ---------------------------------------------------------------------------
    @property
    def node(self) -> UsernsNode | None:
        """userns: the agent owning the run's namespaces; None in the other modes."""
        return None

    @property
    def socket_mark(self) -> int | None:
        """userns: the SO_MARK Envoy sets on its upstream sockets (the rules skip it)."""
        return None

    def start_node(self) -> None:
        """Start what the run needs before any pod (userns: the agent)."""
        return None

    def stop_node(self) -> None:
        """Stop it again (after every pod's processes are gone)."""
        return None

    def setup_node(self) -> None:
        """Prepare the pod network once, before pods start in parallel."""
        return None

    def ads_socket_owner(self) -> tuple[int, int]:
        """(uid, gid) the ADS Unix socket belongs to when we are root (Envoy must connect)."""
        return 0, PROXY_GID

    def owner(self) -> tuple[int, int] | None:
        """The (uid, gid) every process of a pod runs as outside, when the mode forces one."""
        return None

    def proxy_host_identity(self) -> tuple[int, int] | None:
        """The (uid, gid) a pod's Envoy has as seen from the host: with the pod's network
        namespace, who its SDS socket admits. None when the mode cannot tell one pod's Envoy
        from another's (no namespaces), so that pods get no workload identity."""
        return self.owner() or (PROXY_UID, PROXY_GID)

    # --- one pod ---------------------------------------------------------------------------
    def netns_file(self, ns: str) -> Path | None:
        """The file naming pod namespace ``ns`` (for forwarders); None without namespaces."""
        return None

    def attach(self, pod: PodSandbox) -> str | None:
        """Make the pod's namespace and wire it to the node; its IP (None: the host's)."""
        return None

    def apply_rules(self, pod: PodSandbox) -> None:
        """Install the pod's rules (:meth:`PodSandbox.rules_script`): capture for a pod with
        a sidecar, service VIPs for a pod without one."""
        return None

    def update_hosts(self, pod: PodSandbox, services: Iterable[ServiceName]) -> Path | None:
        """Rewrite the pod's hosts file in place; its path (None: the mode has none)."""
        return None

    @abstractmethod
    def command(
        self, pod: PodSandbox, argv: Sequence[str], uid: int, gid: int, cwd: Path | None
    ) -> list[str]:
        """The command line running ``argv`` in ``pod`` as ``uid``/``gid`` (in ``cwd``)."""

    def proxy_env(self, pod: PodSandbox) -> dict[str, str]:
        """Variables every process of the pod gets (explicit: the http_proxy variables)."""
        return {}

    def destroy(self, pod: PodSandbox) -> None:
        """Remove the pod's namespace (its processes are gone already)."""
        return None

    def exec_command(self, pod: PodSandbox, command: Sequence[str], container: str) -> ExecCommand:
        """``command`` run in ``pod`` as ``container`` (``istio-proxy``: the proxy's user)."""
        uid, gid = pod.identity(as_proxy=container == PROXY_CONTAINER)
        env = {
            "PATH": APP_PATH,
            "HOME": str(pod.workdir),
            "POD_NAME": pod.spec.name,
            "POD_NAMESPACE": pod.spec.namespace,
        }
        argv = self.command(pod, command, uid, gid, None)
        return ExecCommand(tuple(argv), env | self.proxy_env(pod), pod.workdir)
