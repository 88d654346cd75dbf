"""userns mode's pieces without namespaces: Envoy's SO_MARK bootstrap, the socket-factory hook
of the forwarders, and the commands the runtime runs through the agent."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from sailmesh.app.bootstrap import render_pod_bootstrap
from sailmesh.runtime import proxy
from sailmesh.runtime.sandbox import forward
from sailmesh.runtime.sandbox.capture import SO_MARK, SOL_SOCKET
from sailmesh.runtime.sandbox.netns import RunNames
from sailmesh.runtime.sandbox.userns import UsernsNode
from sailmesh.runtime.workloads import plan_pods
from sailmesh.xds.bootstrap import UnixAddress, render_bootstrap


def test_bootstrap_marks_every_upstream_socket_only_when_asked() -> None:
    plain = render_bootstrap(node_id="n", cluster="c", xds_address=UnixAddress("/x.sock"))
    assert "cluster_manager" not in plain
    option = {"level": SOL_SOCKET, "name": SO_MARK, "int_value": 1337, "state": "STATE_PREBIND"}
    marked = render_bootstrap(
        node_id="n",
        cluster="c",
        xds_address=UnixAddress("/x.sock"),
        upstream_socket_options=[option],
    )
    assert marked["cluster_manager"] == {"upstream_bind_config": {"socket_options": [option]}}


def test_pod_bootstrap_takes_the_mark() -> None:
    from e2e_support.localmesh import load

    (plan,) = plan_pods(
        load(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n"
            "  selector: {matchLabels: {app: a}}\n  template:\n    metadata: {labels: {app: a}}\n"
            "    spec: {containers: [{name: a, command: [sleep, '9']}]}\n"
        )
    )
    doc = render_pod_bootstrap(
        proxy.bootstrap_request(plan, "10.244.0.2", Path("/x.sock"), socket_mark=1337)
    )
    (opt,) = doc["cluster_manager"]["upstream_bind_config"]["socket_options"]
    assert (opt["level"], opt["name"], opt["int_value"]) == (1, 36, 1337)
    plain = render_pod_bootstrap(proxy.bootstrap_request(plan, "10.244.0.2", Path("/x.sock")))
    assert "cluster_manager" not in plain


def test_sockets_for_registered_namespace_dirs_come_from_the_factory() -> None:
    made: list[tuple[str, int]] = []

    def factory(ns: str, family: int) -> socket.socket:
        made.append((ns, family))
        return socket.socket(family, socket.SOCK_STREAM)

    directory = Path("/proc/999999/root/run/netns")
    forward.register_netns_dir(directory, factory)
    try:
        sock = forward.socket_in_netns(directory / "sm-x-pod-a")
        assert not sock.getblocking()
        sock.close()
    finally:
        forward.unregister_netns_dir(directory)
    assert made == [("sm-x-pod-a", socket.AF_INET)]


def test_commands_enter_the_agent_namespaces(monkeypatch: pytest.MonkeyPatch) -> None:
    node = UsernsNode(RunNames("abc123"))
    node.pid = 4242
    argv = node.pod_argv(
        "sm-abc123-pod-a", ["envoy", "-c", "x"], Path("/h"), Path("/r"), Path("/w")
    )
    enter = argv.index("nsenter")
    assert argv[enter : enter + 6] == [
        "nsenter",
        "--target=4242",
        "--user",
        "--mount",
        "--preserve-credentials",
        "--net=/proc/4242/root/run/netns/sm-abc123-pod-a",
    ]
    assert argv[-6:] == ["/h", "/r", "/w", "envoy", "-c", "x"]
    assert "--net" in node.enter_argv(["ip", "netns", "add", "x"])
