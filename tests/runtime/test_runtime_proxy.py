"""A pod's Envoy in the runtime's terms: its node id, its bootstrap request per mode, its argv."""

from __future__ import annotations

from pathlib import Path

from runtime_plans import deployment, namespace, plan

from sailmesh.runtime.proxy import ADMIN_PORT, bootstrap_request, envoy_argv, node_id

GATEWAY = "inject.istio.io/templates: gateway"


def test_node_ids_say_sidecar_or_router() -> None:
    sidecar = plan(namespace("shop"), deployment("web", namespace="shop"))
    assert node_id(sidecar, "10.244.0.2") == (
        f"sidecar~10.244.0.2~{sidecar.name}.shop~shop.svc.cluster.local"
    )
    gw = plan(deployment("ingress", annotations=GATEWAY))
    assert node_id(gw, "10.244.0.3").startswith("router~10.244.0.3~ingress-")


def test_bootstrap_request_of_a_sidecar() -> None:
    p = plan(namespace("shop"), deployment("web", namespace="shop", labels="version: v1"))
    req = bootstrap_request(p, "10.244.0.2", Path("/run/xds.sock"))
    assert req.node_id == node_id(p, "10.244.0.2")
    assert req.cluster == "web.shop" and req.namespace == "shop"
    assert req.labels == {"app": "web", "version": "v1"}
    assert req.service_account == "sa-web" and req.xds_socket == Path("/run/xds.sock")
    assert req.delta and req.admin_port == ADMIN_PORT
    assert req.explicit_port is None and req.gateway_ports is None and req.socket_mark is None
    assert req.access_log == "/dev/stdout"


def test_bootstrap_request_carries_the_mode_specific_parts() -> None:
    p = plan(deployment("ingress", annotations=GATEWAY))
    req = bootstrap_request(
        p,
        "127.0.0.1",
        Path("/x.sock"),
        explicit_port=31001,
        admin_port=31002,
        gateway_ports={80: 8080},
        socket_mark=1337,
    )
    assert (req.explicit_port, req.admin_port, req.gateway_ports, req.socket_mark) == (
        31001,
        31002,
        {80: 8080},
        1337,
    )
    assert req.cluster == "ingress.default"


def test_envoy_argv() -> None:
    argv = envoy_argv(Path("/bin/envoy"), Path("/w/envoy.json"), concurrency=2)
    assert argv[:3] == ["/bin/envoy", "-c", "/w/envoy.json"]
    assert argv[argv.index("--concurrency") + 1] == "2"
    assert "--disable-hot-restart" in argv
