"""Gateway server ports and the gateway Service's targetPort (Istio's ``resolvePorts``): a
server on a port of the Service that selects the gateway pod binds the targetPort, and its
listener and routes are named after it; other server ports bind themselves. Golden listener
and route names (refresh with ``SAILMESH_UPDATE_GOLDEN=1``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import xds_fixtures as fx
from gateway_world import GATEWAYS, SECRETS, ingress

from sailmesh.registry.model import Service, ServicePort, frozen_map
from sailmesh.typeurls import LISTENER, ROUTE
from sailmesh.xds.gateway import translate_gateway
from sailmesh.xds.options import TranslateOptions

GOLDEN = Path(__file__).parent / "golden" / "gateway_target_ports.json"
SDS = TranslateOptions(sds=True)


def _service(namespace: str = "istio-system", origin: str = "kubernetes") -> Service:
    """Istio's ingress gateway Service: 80 -> 8080, 443 -> 8443 (31400 has no targetPort)."""
    return Service(
        f"istio-ingressgateway.{namespace}.svc.cluster.local",
        namespace,
        (
            ServicePort("http2", 80, "HTTP", 8080),
            ServicePort("https", 443, "HTTPS", 8443),
            ServicePort("tcp", 31400, "TCP"),
        ),
        vip="10.96.0.99",
        name="istio-ingressgateway",
        selector=frozen_map({"istio": "ingressgateway"}),
        origin=origin,
    )


def translated(service: Service | None) -> dict[str, dict[str, Any]]:
    world = fx.snapshot(fx.config(GATEWAYS, SECRETS), extra_services=[service] if service else [])
    return translate_gateway(ingress(), world, SDS)


def _ports(found: dict[str, dict[str, Any]]) -> dict[str, int]:
    return {n: m.address.socket_address.port_value for n, m in found[LISTENER].items()}


def test_service_ports_bind_their_target_ports() -> None:
    found = translated(_service())
    assert _ports(found) == {
        "0.0.0.0_8080": 8080,  # server port 80
        "127.0.0.1_8080": 8080,  # server port 8080 (bind 127.0.0.1): not a Service port
        "0.0.0.0_8443": 8443,  # server port 443, next to the 8443 TLS server: merged
        "0.0.0.0_9443": 9443,
        "0.0.0.0_31400": 31400,  # a Service port without targetPort: itself
    }
    assert "http.8080" in found[ROUTE] and "http.80" not in found[ROUTE]
    assert "https.8443.https.public.istio-system" in found[ROUTE]
    # VirtualService match.port still names the server's port: the https routes are there
    assert found[ROUTE]["https.8443.https.public.istio-system"].virtual_hosts


def test_without_the_gateway_service_server_ports_bind_themselves() -> None:
    for service in (None, _service("elsewhere"), _service(origin="serviceentry/x/y")):
        ports = _ports(translated(service))
        assert ports["0.0.0.0_80"] == 80 and ports["0.0.0.0_443"] == 443


def test_golden_gateway_target_ports() -> None:
    found = translated(_service())
    view = {
        "listeners": sorted(found[LISTENER]),
        "routes": sorted(found[ROUTE]),
        "ports": _ports(found),
    }
    text = json.dumps(view, indent=1, sort_keys=True) + "\n"
    if os.environ.get("SAILMESH_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert GOLDEN.read_text() == text
