"""``netns`` mode (root): each pod in a named network namespace on the run's node bridge.

In: the run's names and subnet; per pod its name, index, uids and capture settings. Out: the
node namespace with the bridge (:meth:`NetnsSandbox.setup_node`), per pod a namespace with its
veth, IP and default route, ``/etc/netns/<ns>/hosts`` (``ip netns exec`` mounts it over
``/etc/hosts``), the ``owner`` variant of the capture rules, and command lines ``ip netns exec
<ns> setpriv --reuid ... -- argv`` (the app as its uid, Envoy as 1337).

Against someone else on the host: the namespaces, links and rules are root's; only root can
enter a pod (``ip netns exec``/``nsenter``) or change its rules. Apps run as their own uid
(``nobody`` by default) and Envoy as 1337, so an app cannot skip capture (its packets are not
owned by 1337) nor signal or read Envoy's process; a local user can reach a pod only through
the 127.0.0.1 forwarders of gateway ports, and the ADS socket is root:1337, mode 0660. Root on
the host can, of course, do anything to a pod.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sailmesh.runtime.sandbox import netns
from sailmesh.runtime.sandbox.capture import apply_rules
from sailmesh.runtime.sandbox.hosts import ServiceName, write_netns_files
from sailmesh.runtime.sandbox.modes import Mode
from sailmesh.runtime.sandbox.strategy import Sandbox

if TYPE_CHECKING:
    from sailmesh.runtime.sandbox.pod import PodSandbox


class NetnsSandbox(Sandbox):
    """Pods in named network namespaces; the proxy recognised by its owner (uid/gid 1337)."""

    mode = Mode.NETNS

    def setup_node(self) -> None:
        netns.setup_node(self.names, self.subnet)

    def netns_file(self, ns: str) -> Path | None:
        return netns.netns_path(ns)

    def attach(self, pod: PodSandbox) -> str | None:
        netns.setup_node(self.names, self.subnet)
        netns.add(pod.ns)
        return netns.attach_pod(self.names, pod.ns, pod.spec.index, self.subnet)

    def apply_rules(self, pod: PodSandbox) -> None:
        apply_rules(pod.ns, pod.rules_script("owner"))

    def update_hosts(self, pod: PodSandbox, services: Iterable[ServiceName]) -> Path | None:
        return write_netns_files(pod.ns, pod.hosts_text(services))

    def command(
        self, pod: PodSandbox, argv: Sequence[str], uid: int, gid: int, cwd: Path | None
    ) -> list[str]:
        return netns.exec_argv(pod.ns, argv, uid, gid)

    def destroy(self, pod: PodSandbox) -> None:
        netns.delete(pod.ns)
