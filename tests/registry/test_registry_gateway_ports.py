"""The port a gateway pod binds for a Gateway server port (Istio's resolvePorts)."""

from __future__ import annotations

from sailmesh.registry.gateway_ports import gateway_listen_port
from sailmesh.registry.model import Service, ServicePort, frozen_map

LABELS = {"istio": "ingressgateway", "app": "istio-ingressgateway"}


def _service(name: str, *ports: ServicePort, namespace: str = "istio-system") -> Service:
    return Service(
        f"{name}.{namespace}.svc.cluster.local",
        namespace,
        ports,
        name=name,
        selector=frozen_map({"istio": "ingressgateway"}),
    )


INGRESS = _service(
    "istio-ingressgateway",
    ServicePort("http2", 80, "HTTP", 8080),
    ServicePort("https", 443, "HTTPS", 8443),
    ServicePort("tcp", 31400, "TCP"),
    ServicePort("named", 15443, "TLS", "tls"),
)


def test_a_service_port_binds_its_numeric_target_port() -> None:
    assert gateway_listen_port([INGRESS], "istio-system", LABELS, 80) == 8080
    assert gateway_listen_port([INGRESS], "istio-system", LABELS, 443) == 8443


def test_other_ports_bind_themselves() -> None:
    assert gateway_listen_port([INGRESS], "istio-system", LABELS, 8080) == 8080  # not a port
    assert gateway_listen_port([INGRESS], "istio-system", LABELS, 31400) == 31400  # no target
    assert gateway_listen_port([INGRESS], "istio-system", LABELS, 15443) == 15443  # named
    assert gateway_listen_port([INGRESS], "other", LABELS, 80) == 80  # another namespace
    assert gateway_listen_port([INGRESS], "istio-system", {"istio": "egress"}, 80) == 80
    assert gateway_listen_port([], "istio-system", LABELS, 80) == 80


def test_the_first_service_in_order_decides() -> None:
    second = _service("z-other", ServicePort("http", 80, "HTTP", 9080))
    assert gateway_listen_port([INGRESS, second], "istio-system", LABELS, 80) == 8080
