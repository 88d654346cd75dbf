"""DestinationRule ``trafficPolicy.proxyProtocol``: the cluster sends a PROXY protocol header.

In: an outbound cluster (its TLS already applied) and the policy's ``proxyProtocol``. Out: the
cluster's transport socket(s) wrapped in Envoy's upstream PROXY protocol transport socket, as
Istio's ``applyUpstreamProxyProtocol`` does: a cluster without a transport socket wraps raw
buffer; otherwise the ``transport_socket`` and every ``transport_socket_matches`` entry (auto
mutual TLS) are wrapped, so the header goes out first, before any TLS handshake. ``version``
V1 (text, Istio's default) or V2 (binary) carries the downstream connection's addresses.
"""

from __future__ import annotations

from typing import Any

from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.core.v3 import base_pb2, proxy_protocol_pb2
from envoy.extensions.transport_sockets.proxy_protocol.v3 import upstream_proxy_protocol_pb2

from sailmesh.xds import pb
from sailmesh.xds.tls import raw_buffer_socket

UPSTREAM_PROXY_PROTOCOL = "envoy.transport_sockets.upstream_proxy_protocol"

_VERSIONS = {
    "V1": proxy_protocol_pb2.ProxyProtocolConfig.V1,
    "V2": proxy_protocol_pb2.ProxyProtocolConfig.V2,
}


def _wrap(inner: base_pb2.TransportSocket, version: str) -> base_pb2.TransportSocket:
    config = upstream_proxy_protocol_pb2.ProxyProtocolUpstreamTransport(
        config=proxy_protocol_pb2.ProxyProtocolConfig(version=_VERSIONS.get(version, 0)),
        transport_socket=inner,
    )
    return base_pb2.TransportSocket(name=UPSTREAM_PROXY_PROTOCOL, typed_config=pb.pack(config))


def apply_proxy_protocol(cluster: cluster_pb2.Cluster, setting: Any) -> None:
    """Wrap the cluster's transport sockets when ``setting`` (a ProxyProtocol) is given."""
    if setting is None:
        return
    version = str(setting.version or "V1")
    if not cluster.HasField("transport_socket") and not cluster.transport_socket_matches:
        cluster.transport_socket.CopyFrom(_wrap(raw_buffer_socket(), version))
        return
    if cluster.HasField("transport_socket"):
        cluster.transport_socket.CopyFrom(_wrap(cluster.transport_socket, version))
    for match in cluster.transport_socket_matches:
        match.transport_socket.CopyFrom(_wrap(match.transport_socket, version))
