"""Explicit mode's host ports: one per containerPort, the sidecar's proxy and admin ports, a
gateway's 127.0.0.1 ports, never handed out twice, given back when a pod stops."""

from __future__ import annotations

import socket

from runtime_plans import deployment, namespace, plan

from sailmesh.runtime import ports as ports_module
from sailmesh.runtime.ports import HostPorts, PodPorts, loopback_port_free
from sailmesh.runtime.proxy import ADMIN_PORT

TWO_PORTS = (
    "[{name: a, command: [x], ports: [{containerPort: 9080}, {containerPort: 9081}]},"
    " {name: b, command: [y], ports: [{containerPort: 7000}]}]"
)
GATEWAY = "inject.istio.io/templates: gateway"


def test_a_sidecar_pod_gets_a_port_per_container_port_and_two_for_its_proxy() -> None:
    host = HostPorts()
    got = host.allocate(plan(namespace("default"), deployment("web", containers=TWO_PORTS)), list)
    assert sorted(got.port_map) == [7000, 9080, 9081]
    assert got.proxy is not None and got.admin != ADMIN_PORT and got.gateway is None
    assert len(set(got.all())) == 5  # all distinct
    again = host.allocate(plan(namespace("default"), deployment("web", containers=TWO_PORTS)), list)
    assert not set(again.all()) & set(got.all())


def test_a_pod_without_sidecar_keeps_the_default_admin_port() -> None:
    got = HostPorts().allocate(plan(deployment("web")), list)
    assert got.proxy is None and got.admin == ADMIN_PORT and list(got.port_map) == [9080]


def test_release_gives_ports_back() -> None:
    host = HostPorts()
    got = host.allocate(plan(namespace("default"), deployment("web")), list)
    host.release(got)
    assert not host._taken


def test_a_gateway_binds_its_server_port_or_a_substitute() -> None:
    gw = plan(deployment("ingress", annotations=GATEWAY))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        free = _free_loopback_port(exclude={taken, taken + 8000})
        got = HostPorts().allocate(gw, lambda p: [free, taken])
    assert got.port_map == {} and got.proxy is None and got.admin != ADMIN_PORT
    assert got.gateway is not None and got.gateway[free] == free
    assert got.gateway[taken] not in (taken, free)
    if taken + 8000 <= 65535 and loopback_port_free(taken + 8000):
        assert got.gateway[taken] == taken + 8000


def test_privileged_gateway_ports_are_substituted() -> None:
    gw = plan(deployment("ingress", annotations=GATEWAY))
    got = HostPorts().allocate(gw, lambda p: [80])
    assert got.gateway is not None
    start = ports_module.unprivileged_port_start()
    usable = [p for p in (80, 8080) if p >= start and loopback_port_free(p)]
    if usable:
        assert got.gateway[80] == usable[0]
    else:
        assert got.gateway[80] not in (80, 8080)


def test_pod_ports_all_lists_every_port() -> None:
    ports = PodPorts(port_map={80: 31000}, proxy=31001, admin=31002, gateway={443: 31003})
    assert ports.all() == [31000, 31001, 31002, 31003]
    assert PodPorts().all() == [ADMIN_PORT]


def _free_loopback_port(exclude: set[int]) -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in exclude and port + 8000 not in exclude and loopback_port_free(port):
            return port
