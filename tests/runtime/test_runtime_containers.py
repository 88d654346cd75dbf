"""A plan's containers as the supervisor runs them: the sidecar with its bootstrap, the apps'
environment, host ports as ``PORT`` and readiness probes."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from runtime_plans import deployment, namespace, plan

from sailmesh.runtime.containers import (
    ProxySetup,
    app_containers,
    base_env,
    proxy_container,
    tcp_probe,
)
from sailmesh.runtime.local import failure_reason
from sailmesh.runtime.ports import PodPorts
from sailmesh.runtime.proxy import BootstrapRequest
from sailmesh.runtime.sandbox.modes import Mode
from sailmesh.runtime.sandbox.netns import RunNames
from sailmesh.runtime.sandbox.pod import PodSandbox, PodSpec
from sailmesh.runtime.sandbox.strategy import APP_PATH
from sailmesh.runtime.supervisor import PodStartError
from sailmesh.samples.images import known_names

TWO = (
    "[{name: a, command: [serve], env: [{name: A, value: '1'}], ports: [{containerPort: 9080}]},"
    " {name: b, command: [work]}]"
)


def test_base_env_names_the_pod() -> None:
    p = plan(deployment("web"))
    env = base_env(p, "10.244.0.2", Path("/w/pylib"))
    assert env == {
        "PATH": APP_PATH,
        "PYTHONPATH": "/w/pylib",
        "PYTHONUNBUFFERED": "1",
        "POD_NAME": p.name,
        "POD_NAMESPACE": "default",
        "POD_IP": "10.244.0.2",
        "SERVICE_ACCOUNT": "sa-web",
        "HOSTNAME": p.name,
    }


def test_app_containers_get_env_port_and_probes() -> None:
    p = plan(deployment("web", containers=TWO))
    specs = app_containers(p, None, PodPorts(port_map={9080: 31000}), {"BASE": "x"})
    assert [s.name for s in specs] == ["a", "b"]
    a, b = specs
    assert dict(a.env) == {"BASE": "x", "A": "1", "PORT": "31000"}
    assert dict(b.env) == {"BASE": "x"}
    assert a.role == b.role == "app" and a.restart_policy == "Always"
    assert a.readiness_probe is not None and b.readiness_probe is None
    assert app_containers(p, None, PodPorts(), {})[0].env.get("PORT") is None


def test_a_container_with_no_command_and_an_unknown_image_cannot_start() -> None:
    containers = "[{name: a, command: [serve]}, {name: web, image: 'nginx:1.27'}]"
    p = plan(deployment("web", containers=containers))
    with pytest.raises(PodStartError) as caught:
        app_containers(p, None, PodPorts(), {})
    assert caught.value.container == "web"
    assert failure_reason(caught.value) == (
        "container 'web' cannot start: Deployment default/web gives it image 'nginx:1.27' and"
        " no command, and sailmesh has no stand-in for that image (it has: "
        + ", ".join(known_names())
        + "); give the container a command"
    )


def test_sample_images_run_their_stand_ins() -> None:
    containers = (
        "[{name: httpbin, image: 'docker.io/mccutchen/go-httpbin:v2.15.0'},"
        " {name: fortio, image: 'fortio/fortio:latest_release', args: [server]}]"
    )
    p = plan(deployment("web", containers=containers))
    httpbin, fortio = app_containers(p, None, PodPorts(), {})
    assert httpbin.argv == ("python3", "-m", "sailmesh.samples.httpbin", "go")
    assert fortio.argv == ("python3", "-m", "sailmesh.samples.fortio", "server")


def test_tcp_probe_is_ready_once_the_port_listens() -> None:
    assert tcp_probe(None, []) is None
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        port = server.getsockname()[1]
        probe = tcp_probe(None, [port])
        assert probe is not None and not probe()
        server.listen()
        assert probe()


def test_proxy_container_writes_its_bootstrap(tmp_path: Path) -> None:
    requests: list[BootstrapRequest] = []

    def render(request: BootstrapRequest) -> dict[str, Any]:
        requests.append(request)
        return {"node": {"id": request.node_id}}

    p = plan(namespace("default"), deployment("web"))
    names = RunNames("cont1")
    sandbox = PodSandbox(names, PodSpec(p.name), Mode.EXPLICIT)
    sandbox.workdir = tmp_path
    (tmp_path / "proxy").mkdir()
    setup = ProxySetup(Path("/bin/envoy"), Path("/x.sock"), render, socket_mark=1337)
    spec = proxy_container(setup, p, sandbox, "127.0.0.1", PodPorts(proxy=31001, admin=31002))
    (request,) = requests
    assert (request.explicit_port, request.admin_port, request.socket_mark) == (31001, 31002, 1337)
    written = json.loads((tmp_path / "proxy" / "envoy.json").read_text())
    assert written == {"node": {"id": request.node_id}}
    assert spec.name == "istio-proxy" and spec.role == "proxy" and spec.restart_policy == "Always"
    assert list(spec.argv[:3]) == ["/bin/envoy", "-c", str(tmp_path / "proxy" / "envoy.json")]
    assert spec.readiness_probe is not None and spec.grace_seconds == 5.0
