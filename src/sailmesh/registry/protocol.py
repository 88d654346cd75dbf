"""Istio's protocol selection for service ports: ``appProtocol`` first, then the port name prefix."""

from __future__ import annotations

from sailmesh.registry.model import Protocol

_BY_NAME: dict[str, Protocol] = {
    "http": "HTTP",
    "http2": "HTTP2",
    "https": "HTTPS",
    "grpc": "GRPC",
    "grpc-web": "GRPC-WEB",
    "tcp": "TCP",
    "tls": "TLS",
    "mongo": "MONGO",
    "mysql": "MYSQL",
    "redis": "REDIS",
    "udp": "UDP",
    "h2c": "HTTP2",
    "kubernetes.io/h2c": "HTTP2",
    "kubernetes.io/ws": "HTTP",
    "kubernetes.io/wss": "HTTPS",
}


def parse_protocol(value: str | None) -> Protocol | None:
    """An explicit protocol name (ServiceEntry/Gateway ``protocol``, ``appProtocol``), or None."""
    if not value:
        return None
    return _BY_NAME.get(value.strip().lower())


def infer_protocol(
    port_name: str | None, app_protocol: str | None = None, transport: str | None = "TCP"
) -> Protocol:
    """Protocol of a Kubernetes Service port the way Istio picks it; ``AUTO`` means sniffing."""
    if (transport or "TCP").upper() == "UDP":
        return "UDP"
    explicit = parse_protocol(app_protocol)
    if explicit:
        return explicit
    if port_name:
        prefix = port_name.lower()
        if prefix.startswith("grpc-web"):
            return "GRPC-WEB"
        prefix = prefix.split("-", 1)[0]
        found = _BY_NAME.get(prefix)
        if found:
            return found
    return "AUTO"
