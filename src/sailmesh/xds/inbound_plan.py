"""Which inbound ports a sidecar serves, and where each one forwards to.

In: a :class:`~sailmesh.xds.scope.ProxyScope`. Out: one :class:`InboundPort` per port, read
by the inbound listener (:mod:`sailmesh.xds.inbound`) and the inbound clusters
(:mod:`sailmesh.xds.clusters`), so that the two agree.

Without a Sidecar ``ingress`` list the ports are the target ports of the Services selecting
the workload, forwarded to ``127.0.0.1:<targetPort>``. With one, Istio builds the inbound
ports from the ingress listeners *instead* of the Services (the Service ports are dropped):

- ``port.number`` is the port the listener takes traffic on (Istio has no ``targetPort``
  support on ingress listeners: the listener port is the target port);
- ``defaultEndpoint`` is where the inbound cluster sends it: ``127.0.0.1:<p>`` (the app on
  loopback), ``0.0.0.0:<p>`` (the app on the pod's own IP), ``unix://<path>`` (a Unix domain
  socket); without one the cluster is ``ORIGINAL_DST`` (to the address the client dialled);
- ``bind`` and ``captureMode``: a listener with ``captureMode: NONE`` (or any listener of a
  proxy without capture) is a real listener bound to ``bind`` (default: the pod IP), the rest
  are filter chains of ``virtualInbound``;
- ``tls`` (server TLS terminated on the listener) and ``connectionPool`` (overriding the
  Sidecar's ``inboundConnectionPool`` for this port).

A port is attributed to the Service of the workload whose target port equals it (first by
host name), else to a synthetic service named ``<sidecar>.<namespace>`` as Istio does for
telemetry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sailmesh.config.models.gateway import IstioIngressListener
from sailmesh.config.resource import Resource
from sailmesh.registry.model import Service, ServicePort
from sailmesh.xds.scope import ProxyScope, port_kind

#: ``localhost``: 127.0.0.1:<endpoint_port>; ``pod``: the pod IP; ``unix``: a socket path;
#: ``original``: ORIGINAL_DST (the address the client dialled).
EndpointKind = Literal["localhost", "pod", "unix", "original"]
_TLS_TERMINATED = {"HTTPS": "HTTP", "TLS": "TCP", "GRPC": "GRPC", "HTTP2": "HTTP2"}


@dataclass(frozen=True)
class InboundPort:
    """A port the proxy's workload serves: its target (container) port and protocol."""

    port: int
    name: str
    protocol: str
    service: Service
    endpoint: EndpointKind = "localhost"
    #: The app's port (``defaultEndpoint``'s port; ``port`` for Service ports).
    endpoint_port: int = 0
    unix_path: str = ""
    #: ``captureMode: NONE`` (or no capture at all): a real listener on ``bind``:``port``.
    bind_to_port: bool = False
    bind: str = ""
    #: Server TLS settings of a Sidecar ingress listener (``ServerTLSSettings``) or None.
    tls: Any = None
    #: The connection pool of this port (ingress listener's, else the Sidecar's) or None.
    pool: Any = None
    #: The Sidecar the port comes from (chains carry its ``istio.config`` metadata).
    sidecar: Resource | None = None

    @property
    def app_port(self) -> int:
        return self.endpoint_port or self.port


def inbound_ports(scope: ProxyScope) -> list[InboundPort]:
    """The inbound ports of the proxy: the Sidecar's ingress listeners when it has some, else
    the Services' target ports (memoized on the scope)."""
    cached = scope.memo.get("inbound_ports")
    if cached is not None:
        return list(cached)
    service_ports = _service_ports(scope)
    sidecar = scope.snapshot.sidecar_for(scope.proxy)
    if sidecar is not None and sidecar.spec.ingress:
        found = _ingress_ports(scope, sidecar, service_ports)
    else:
        pool = sidecar.spec.inbound_connection_pool if sidecar is not None else None
        found = [_with_pool(p, pool) for p in service_ports]
    scope.memo["inbound_ports"] = tuple(found)
    return found


def _with_pool(port: InboundPort, pool: Any) -> InboundPort:
    if pool is None:
        return port
    return InboundPort(port.port, port.name, port.protocol, port.service, pool=pool)


def _service_ports(scope: ProxyScope) -> list[InboundPort]:
    """Target ports of the services selecting the proxy's workload (first service wins)."""
    workload = scope.snapshot.registry.workload_at(scope.proxy.ip)
    named = workload.ports if workload is not None else {}
    found: dict[int, InboundPort] = {}
    for service in sorted(scope.inbound_services(), key=lambda s: s.hostname):
        for port in service.ports:
            if port_kind(port) == "udp":
                continue
            target = port.target_port
            if isinstance(target, str):
                number = named.get(target)
                if number is None:
                    continue
                target = int(number)
            number = target if isinstance(target, int) and target else port.port
            found.setdefault(number, InboundPort(number, port.name, port.protocol, service))
    return [found[p] for p in sorted(found)]


def _ingress_ports(
    scope: ProxyScope, sidecar: Resource, services: list[InboundPort]
) -> list[InboundPort]:
    by_port = {p.port: p.service for p in services}
    found: dict[int, InboundPort] = {}
    for listener in sidecar.spec.ingress:
        if listener.port is None or not listener.port.number:
            continue  # unix-socket listeners (port 0) need a bind socket: not translated
        number = int(listener.port.number)
        if number in found:
            continue  # validation reports duplicates; the first listener wins, as in Istio
        service = by_port.get(number) or _synthetic_service(sidecar, number)
        found[number] = _ingress_port(scope, sidecar, listener, number, service)
    return [found[p] for p in sorted(found)]


def _ingress_port(
    scope: ProxyScope,
    sidecar: Resource,
    listener: IstioIngressListener,
    number: int,
    service: Service,
) -> InboundPort:
    assert listener.port is not None
    protocol = (listener.port.protocol or "TCP").upper()
    tls = None
    if listener.tls is not None and has_certificate_files(listener.tls):
        # files only: the sidecar is sent no Secrets (see the not-enforced table)
        tls = listener.tls.model_copy(
            update={
                "credential_name": None,
                "credential_names": [],
                "ca_cert_credential_name": None,
            }
        )
    if tls is not None:
        protocol = _TLS_TERMINATED.get(protocol, protocol)
    kind, endpoint_port, path = parse_default_endpoint(listener.default_endpoint)
    capture = listener.capture_mode
    bind_to_port = capture == "NONE" or (
        capture == "DEFAULT" and scope.proxy.interception == "NONE"
    )
    pool = listener.connection_pool or sidecar.spec.inbound_connection_pool
    return InboundPort(
        port=number,
        name=listener.port.name or "",
        protocol=protocol,
        service=service,
        endpoint=kind,
        endpoint_port=endpoint_port,
        unix_path=path,
        bind_to_port=bind_to_port,
        bind=listener.bind or "",
        tls=tls,
        pool=pool,
        sidecar=sidecar,
    )


def has_certificate_files(settings: Any) -> bool:
    """Whether ingress TLS names a certificate and key as files (sidecars get no Secrets
    over ADS, so a ``credentialName`` alone gives them nothing to present)."""
    if settings is None:
        return False
    pairs = [(settings.server_certificate, settings.private_key)]
    pairs += [(c.server_certificate, c.private_key) for c in settings.tls_certificates or []]
    return any(cert and key for cert, key in pairs)


def parse_default_endpoint(endpoint: str | None) -> tuple[EndpointKind, int, str]:
    """``(kind, port, unix path)`` of a ``defaultEndpoint`` (validation checked its shape)."""
    if not endpoint:
        return "original", 0, ""
    if endpoint.startswith("unix://"):
        return "unix", 0, endpoint[len("unix://") :]
    host, _, port = endpoint.rpartition(":")
    kind: EndpointKind = "pod" if host in ("0.0.0.0", "[::]") else "localhost"
    return kind, int(port), ""


def _synthetic_service(sidecar: Resource, number: int) -> Service:
    """Istio's stand-in service for an ingress port no Service of the workload declares."""
    return Service(
        hostname=f"{sidecar.name}.{sidecar.namespace}",
        namespace=sidecar.namespace,
        ports=(ServicePort("", number, "TCP"),),
        name=sidecar.name,
        mesh_external=True,
    )
