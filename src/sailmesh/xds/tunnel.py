"""DestinationRule ``trafficPolicy.tunnel``: an outbound TCP proxy tunnels over HTTP.

In: the proxy's scope and the cluster a ``tcp_proxy`` sends to. Out: the proxy's
``tunneling_config`` when that cluster's policy (subset, else destination) has a ``tunnel``, as
Istio's ``tunnelingconfig.Apply`` does: ``hostname`` is ``targetHost:targetPort``, ``use_post``
when the protocol is POST (CONNECT otherwise). The cluster's endpoints are then the tunnelling
proxy, which opens the connection to the target; Envoy speaks HTTP/1.1 to it (the outbound TCP
cluster has no HTTP/2 options). Only a single-destination TCP proxy tunnels (weighted
destinations do not, as in Istio).
"""

from __future__ import annotations

from envoy.extensions.filters.network.tcp_proxy.v3 import tcp_proxy_pb2

from sailmesh.xds.plan import ClusterSpec, cluster_specs
from sailmesh.xds.scope import ProxyScope


def _specs_by_name(scope: ProxyScope) -> dict[str, ClusterSpec]:
    found: dict[str, ClusterSpec] | None = scope.memo.get("cluster_specs_by_name")
    if found is None:
        found = scope.memo["cluster_specs_by_name"] = {s.name: s for s in cluster_specs(scope)}
    return found


def tunneling_config(
    scope: ProxyScope, cluster: str
) -> tcp_proxy_pb2.TcpProxy.TunnelingConfig | None:
    """The tunnelling settings of TCP traffic to ``cluster`` (None: no tunnel)."""
    spec = _specs_by_name(scope).get(cluster)
    tunnel = spec.policy.tunnel if spec is not None else None
    if tunnel is None or not tunnel.target_host or not tunnel.target_port:
        return None
    host = tunnel.target_host
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return tcp_proxy_pb2.TcpProxy.TunnelingConfig(
        hostname=f"{host}:{tunnel.target_port}",
        use_post=str(tunnel.protocol or "CONNECT").upper() == "POST",
    )
