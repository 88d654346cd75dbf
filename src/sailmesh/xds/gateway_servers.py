"""Which Gateway servers a gateway proxy serves on which listener (Istio's server merging).

In: the Gateways selecting a gateway proxy (in the snapshot's order: oldest first). Out: one
:class:`PortServers` per listener address and port, with the servers it serves and those it
drops. Servers are merged as Istio merges them: all servers on one ``bind``/port share a
listener; plain HTTP servers share one HTTP connection manager (route config
``http.<port>``); HTTPS and TLS servers get one filter chain each, chosen by SNI from their
``hosts``; a TCP port takes the first TCP server. A server whose protocol class differs from the
port's first server (HTTP next to HTTPS, say) is dropped, as Istio drops it.

The listener's port is the port the gateway binds for the server port (``listen_port``: the
gateway Service's ``targetPort``, :mod:`sailmesh.registry.gateway_ports`); listener and route
configuration names use it, as Istio's do (``0.0.0.0_8080``, ``http.8080`` for a server on
port 80 of a Service mapping 80 -> 8080). VirtualService ``match.port`` keeps meaning the
server's own port number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sailmesh.config.resource import Resource
from sailmesh.snapshot.hosts import host_matches
from sailmesh.xds import names

ServerKind = Literal["http", "tls", "tcp"]
HTTP_PROTOCOLS = frozenset({"HTTP", "HTTP2", "GRPC", "GRPC-WEB"})
TLS_PROTOCOLS = frozenset({"HTTPS", "TLS"})


@dataclass(frozen=True)
class BoundServer:
    """A server of a Gateway."""

    gateway: Resource
    server: Any

    @property
    def gateway_name(self) -> str:
        return f"{self.gateway.namespace}/{self.gateway.name}"

    @property
    def protocol(self) -> str:
        return (self.server.port.protocol or "").upper()

    @property
    def kind(self) -> ServerKind:
        if self.protocol in HTTP_PROTOCOLS:
            return "http"
        return "tls" if self.protocol in TLS_PROTOCOLS else "tcp"

    @property
    def https_redirect(self) -> bool:
        return bool(self.server.tls is not None and self.server.tls.https_redirect)

    @property
    def number(self) -> int:
        """The server's own port number (what VirtualService ``match.port`` names)."""
        return int(self.server.port.number)

    def route_config_name(self, listen_port: int | None = None) -> str:
        """Istio's name for an HTTPS server's routes: ``https.<port>.<port name>.<gw>.<ns>``
        (``listen_port``: the port the gateway binds for the server, when it differs)."""
        port = self.server.port
        number = listen_port or port.number
        return f"https.{number}.{port.name or ''}.{self.gateway.name}.{self.gateway.namespace}"

    def admits(self, vs: Resource, host: str) -> bool:
        """Whether ``hosts`` (``[ns/]host``) admit host ``host`` of VirtualService ``vs``."""
        for entry in self.server.hosts or []:
            ns, _, pattern = entry.rpartition("/")
            if (
                ns
                and ns not in ("*", vs.namespace)
                and not (ns == "." and vs.namespace == self.gateway.namespace)
            ):
                continue
            if host_matches(pattern, host) or host_matches(host, pattern):
                return True
        return False


@dataclass
class PortServers:
    """The servers of one gateway listener."""

    number: int
    bind: str
    kind: ServerKind
    servers: list[BoundServer] = field(default_factory=list)
    dropped: list[BoundServer] = field(default_factory=list)

    @property
    def listener_name(self) -> str:
        return names.listener_name(self.bind, self.number)


def merge_servers(
    gateways: list[Resource], listen_port: Callable[[int], int] | None = None
) -> list[PortServers]:
    """The listeners of the gateways' servers, by (bind address, listen port), ports
    ascending (``listen_port``: the port bound for a server port; default the same)."""
    ports: dict[tuple[str, int], PortServers] = {}
    for gw in gateways:
        for server in gw.spec.servers or []:
            if server.port is None or not server.port.number:
                continue
            bound = BoundServer(gw, server)
            number = listen_port(server.port.number) if listen_port else server.port.number
            key = (server.bind or names.WILDCARD_ADDRESS, number)
            found = ports.get(key)
            if found is None:
                ports[key] = PortServers(key[1], key[0], bound.kind, [bound])
            elif found.kind != bound.kind or found.kind == "tcp":
                found.dropped.append(bound)
            else:
                found.servers.append(bound)
    return [ports[k] for k in sorted(ports, key=lambda k: (k[1], k[0]))]
