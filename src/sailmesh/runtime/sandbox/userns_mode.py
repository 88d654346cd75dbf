"""``userns`` mode (no root needed): the pods' namespaces inside the run's user namespace.

In: the run's names and subnet, and its agent (:class:`~sailmesh.runtime.sandbox.userns.
UsernsNode`, made by :meth:`UsernsSandbox.for_run` and started by :meth:`start_node`); per pod
its name, index and capture settings. Out: per pod a network namespace made through the agent,
the ``mark`` variant of the capture rules, hosts and resolv.conf files in the pod's work
directory (``etc/``, bind-mounted over ``/etc`` in each process's own mount namespace), and
command lines entering the pod through the agent (``nsenter ... unshare --mount ...``).

Against someone else on the host: the namespaces belong to the agent's user namespace, owned
by the agent's uid (the invoking user, or ``nobody`` when the runtime is root); that uid (and
root) can enter them with ``nsenter`` and change their rules, nobody else can. Every process of
a pod, Envoy included, runs as that one uid: an app is not isolated from its sidecar (it could
signal Envoy or set SO_MARK itself and skip capture), and other processes of the same user on
the host can ptrace or signal the pods' processes. The agent's socket is mode 0600 in a
directory of that user.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sailmesh.runtime.sandbox import userns
from sailmesh.runtime.sandbox.capture import CaptureConfig
from sailmesh.runtime.sandbox.errors import SandboxError
from sailmesh.runtime.sandbox.hosts import RESOLV_CONF, ServiceName, write_in_place
from sailmesh.runtime.sandbox.modes import Mode
from sailmesh.runtime.sandbox.netns import RunNames, Subnet
from sailmesh.runtime.sandbox.strategy import Sandbox

if TYPE_CHECKING:
    from sailmesh.runtime.sandbox.pod import PodSandbox

#: Envoy's SO_MARK in userns mode, skipped by the capture rules.
PROXY_MARK = CaptureConfig().proxy_mark


class UsernsSandbox(Sandbox):
    """Pods in namespaces of the run's user namespace; the proxy recognised by SO_MARK."""

    mode = Mode.USERNS
    limits = (
        "every process of a pod runs as one uid (root of the user namespace; outside, the "
        "invoking user, or nobody under root): apps are not isolated from their sidecar "
        "(an app can also fetch its pod's workload certificate and key from the SDS socket)",
        "gateway ports below 1024 are forwarded from 127.0.0.1:<port + 8000> when not root",
    )

    def __init__(
        self, names: RunNames, subnet: Subnet | None = None, node: userns.UsernsNode | None = None
    ) -> None:
        if node is None:
            raise SandboxError("a userns pod sandbox needs the run's UsernsNode")
        super().__init__(names, subnet)
        self._node = node

    @classmethod
    def for_run(cls, names: RunNames, subnet: Subnet | None = None) -> Sandbox:
        return cls(names, subnet, userns.UsernsNode(names))

    @classmethod
    def runtime_requirements(cls) -> str | None:
        return userns.probe_runtime()

    @property
    def node(self) -> userns.UsernsNode:
        return self._node

    @property
    def socket_mark(self) -> int | None:
        return PROXY_MARK

    def start_node(self) -> None:
        self._node.start()

    def stop_node(self) -> None:
        self._node.stop()

    def setup_node(self) -> None:
        self._node.setup_node(self.subnet)

    def ads_socket_owner(self) -> tuple[int, int]:
        return self._node.uid, self._node.gid  # Envoy runs as the agent's user

    def owner(self) -> tuple[int, int] | None:
        return self._node.uid, self._node.gid

    def netns_file(self, ns: str) -> Path | None:
        return self._node.netns_file(ns)

    def attach(self, pod: PodSandbox) -> str | None:
        etc = pod.workdir / "etc"
        etc.mkdir(exist_ok=True)
        os.chmod(etc, 0o755)
        return self._node.add_pod(pod.ns, pod.spec.index, self.subnet)

    def apply_rules(self, pod: PodSandbox) -> None:
        self._node.apply_rules(pod.ns, pod.rules_script("mark"))

    def update_hosts(self, pod: PodSandbox, services: Iterable[ServiceName]) -> Path | None:
        etc = pod.workdir / "etc"
        write_in_place(etc / "resolv.conf", RESOLV_CONF)
        write_in_place(etc / "hosts", pod.hosts_text(services))
        return etc / "hosts"

    def command(
        self, pod: PodSandbox, argv: Sequence[str], uid: int, gid: int, cwd: Path | None
    ) -> list[str]:
        # one uid for all: Envoy is told apart by SO_MARK, so uid and gid are not used
        etc = pod.workdir / "etc"
        return self._node.pod_argv(
            pod.ns, argv, etc / "hosts", etc / "resolv.conf", cwd or pod.workdir
        )

    def destroy(self, pod: PodSandbox) -> None:
        self._node.delete_pod(pod.ns)
