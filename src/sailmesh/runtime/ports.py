"""Host ports for pods that share the host's network (explicit mode).

In: a pod's plan (its containerPorts, whether it has a sidecar, whether it is a gateway) and the
Gateway server ports a gateway pod serves. Out: :class:`PodPorts`: a free host port per
containerPort (apps get the first as ``PORT``), the sidecar's http_proxy and admin ports, and the
127.0.0.1 port each gateway server port binds (the server port itself when it is free and
unprivileged, else ``port + 8000``, else any). :class:`HostPorts` remembers what it handed out
until the pod gives it back, so two pods never get the same port.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sailmesh.runtime.proxy import ADMIN_PORT
from sailmesh.runtime.workloads import PodPlan

GatewayPortsOf = Callable[[PodPlan], list[int]]  # the Gateway server ports a gateway pod serves


@dataclass(frozen=True)
class PodPorts:
    """Explicit mode: the host ports of one pod (empty in netns mode)."""

    port_map: dict[int, int] = field(default_factory=dict)  # containerPort -> host port
    proxy: int | None = None  # the sidecar's http_proxy port
    admin: int = ADMIN_PORT
    gateway: dict[int, int] | None = None  # Gateway server port -> port bound on 127.0.0.1

    def all(self) -> list[int]:
        proxy = [] if self.proxy is None else [self.proxy]
        return [*self.port_map.values(), *proxy, self.admin, *(self.gateway or {}).values()]


class HostPorts:
    """The host ports handed to running pods (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._taken: set[int] = set()

    def allocate(self, plan: PodPlan, gateway_ports_of: GatewayPortsOf) -> PodPorts:
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
                gateway = {p: self._gateway_port(p) for p in gateway_ports_of(plan)}
            return PodPorts(
                port_map=port_map,
                proxy=proxy,
                admin=admin if admin is not None else ADMIN_PORT,
                gateway=gateway,
            )

    def release(self, ports: PodPorts) -> None:
        """Give a stopped pod's ports back."""
        with self._lock:
            self._taken.difference_update(ports.all())

    def _free_port(self) -> int:
        """A port free on every address (apps bind 0.0.0.0) and not handed out already."""
        while True:
            with socket.socket() as sock:
                sock.bind(("0.0.0.0", 0))
                port = int(sock.getsockname()[1])
            if port not in self._taken:
                self._taken.add(port)
                return port

    def _gateway_port(self, port: int) -> int:
        """127.0.0.1:``port`` when it is free and unprivileged, else ``port + 8000``, else any."""
        for candidate in (port, port + 8000):
            if candidate < unprivileged_port_start() or candidate in self._taken:
                continue
            if candidate <= 65535 and loopback_port_free(candidate):
                self._taken.add(candidate)
                return candidate
        return self._free_port()


def unprivileged_port_start() -> int:
    """The lowest port an unprivileged process (Envoy runs as uid 1337) may bind."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text())
    except (OSError, ValueError):
        return 1024


def loopback_port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Envoy binds listeners
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
