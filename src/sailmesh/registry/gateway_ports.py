"""Which port a gateway pod listens on for a Gateway server port (Istio's ``resolvePorts``).

In: the registry's services, a gateway pod's namespace and labels, a Gateway server's
``port.number``. Out: the port the gateway's Envoy binds inside its pod.

A server port names a port of the gateway's Service: when a Kubernetes Service in the pod's
namespace selects the pod and declares that port with a numeric ``targetPort``, the gateway
binds the target port (Istio's ingress gateway Service maps 80 -> 8080 and 443 -> 8443, so
the proxy needs no privileged port). Otherwise (no such Service, or a port the Service does
not declare, or no numeric target) the gateway binds the number itself, as Istio does for
Gateways that select pods by labels. The first Service in hostname order decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sailmesh.registry.model import Service, selector_matches

KUBERNETES = "kubernetes"


def gateway_listen_port(
    services: Iterable[Service],
    namespace: str,
    labels: Mapping[str, str],
    server_port: int,
) -> int:
    """The port a gateway pod (``namespace``, ``labels``) binds for ``server_port``."""
    for service in services:
        if service.namespace != namespace or service.origin != KUBERNETES:
            continue
        if not selector_matches(service.selector, labels):
            continue
        port = service.port(server_port)
        if port is not None and isinstance(port.target_port, int) and port.target_port > 0:
            return port.target_port
    return server_port
