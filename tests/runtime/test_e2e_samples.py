"""Istio's sample apps, from YAML in the shape of Istio's (``samples/httpbin``, ``curl``,
``helloworld``, ``tcp-echo``, fortio's client deployment), run unchanged in one mesh: each image
runs its stand-in, Istio's task commands work through ``sailctl exec``, Service ``targetPort``
(a number or a container port's name) is honoured from pods with and without a sidecar, and a
VirtualService's ``match.gateways`` picks the proxy a route applies to, on real traffic through
the ingress gateway and a sidecar.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_e2e import BOOKINFO, ROOT, assert_nothing_left, sailctl, skip_unless_netns

from e2e_support.localmesh import LocalMeshThread
from e2e_support.proxy import wait_for

pytestmark = pytest.mark.e2e

skip_unless_netns()

SAMPLES = ROOT / "samples"
PATHS = [
    str(BOOKINFO / "platform" / "namespace.yaml"),
    str(BOOKINFO / "platform" / "istio-ingressgateway.yaml"),
    str(SAMPLES / "httpbin" / "httpbin.yaml"),
    str(SAMPLES / "httpbin" / "httpbin-gateway.yaml"),
    str(SAMPLES / "httpbin" / "sample-client" / "fortio-deploy.yaml"),
    str(SAMPLES / "curl" / "curl.yaml"),
    str(SAMPLES / "helloworld" / "helloworld.yaml"),
    str(SAMPLES / "tcp-echo" / "tcp-echo.yaml"),
]
LEGACY = "apiVersion: v1\nkind: Namespace\nmetadata: {name: legacy, labels: {istio-injection: disabled}}\n"


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMeshThread]:
    m = LocalMeshThread(tmp_path_factory.mktemp("sailmesh-home"))
    run_id = m.mesh.names.run_id
    try:
        m.start(PATHS)
        m.apply(LEGACY + "---\n" + (SAMPLES / "curl" / "curl.yaml").read_text(), "legacy")
        yield m
    finally:
        m.close()
        assert_nothing_left(run_id)


def home(mesh: LocalMeshThread) -> Path:
    return mesh.mesh.home


def in_pod(mesh: LocalMeshThread, pod: str, *command: str, namespace: str = "default") -> str:
    """``sailctl exec -n namespace pod -- command...``: its output (checked: exit 0)."""
    return sailctl(home(mesh), "exec", "-n", namespace, pod, "--", *command)


def test_every_sample_pod_runs(mesh: LocalMeshThread) -> None:
    status = mesh.mesh.host.status()
    pods = {p["name"].rsplit("-", 2)[0]: p for p in status["pods"]}
    wanted = {"httpbin", "fortio-deploy", "curl", "helloworld-v1", "helloworld-v2", "tcp-echo"}
    assert wanted <= set(pods), sorted(pods)
    assert all(pods[name]["ready"] for name in wanted), [pods[n] for n in wanted]


def test_httpbin_answers_through_the_mesh(mesh: LocalMeshThread) -> None:
    # Service port 8000 -> targetPort 8080, the go-httpbin image's port, through both sidecars
    headers = json.loads(in_pod(mesh, "deploy/curl", "curl", "-s", "http://httpbin:8000/headers"))
    assert headers["headers"]["Host"] == ["httpbin:8000"]
    assert "X-Envoy-Attempt-Count" in headers["headers"]  # added by the client's sidecar
    code = in_pod(
        mesh,
        "deploy/curl",
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "http://httpbin:8000/status/418",
    )
    assert code == "418"


def test_fortio_curl_and_load_as_istio_tasks_type_them(mesh: LocalMeshThread) -> None:
    fortio = ("deploy/fortio-deploy", "-c", "fortio", "--", "/usr/bin/fortio")
    out = sailctl(home(mesh), "exec", *fortio, "curl", "-quiet", "http://httpbin:8000/get")
    assert out.startswith("HTTP/1.1 200 OK") and "server: envoy" in out
    out = sailctl(
        home(mesh),
        "exec",
        *fortio,
        "load",
        "-c",
        "2",
        "-qps",
        "0",
        "-n",
        "20",
        "-loglevel",
        "Warning",
        "http://httpbin:8000/get",
    )
    assert "Code 200 : 20 (100.0 %)" in out and "# target 99% " in out


def test_helloworld_versions_and_instances(mesh: LocalMeshThread) -> None:
    seen = {
        in_pod(mesh, "deploy/curl", "curl", "-s", "http://helloworld:5000/hello").strip()
        for _ in range(12)
    }
    versions = {line.split(",")[0] for line in seen}
    assert versions == {"Hello version: v1", "Hello version: v2"}, seen
    assert all(line.split("instance: ")[1].startswith("helloworld-v") for line in seen)


def test_tcp_echo_prefixes_lines(mesh: LocalMeshThread) -> None:
    code = (
        "import socket; s = socket.create_connection(('tcp-echo', 9000), timeout=5);"
        " s.sendall(b'world\\n'); print(s.recv(100).decode(), end='')"
    )
    assert in_pod(mesh, "deploy/curl", "python3", "-c", code) == "hello world\n"


def test_named_target_port_from_pods_with_and_without_a_sidecar(mesh: LocalMeshThread) -> None:
    mesh.apply(
        "apiVersion: v1\nkind: Service\nmetadata: {name: fortio-named}\n"
        "spec:\n  selector: {app: fortio}\n"
        "  ports: [{name: http, port: 80, targetPort: http-fortio}]\n"
    )
    url = "http://fortio-named.default/echo?status=202"
    curl = ("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url)

    def both_reach() -> bool:
        return in_pod(mesh, "deploy/curl", *curl) == "202" and (
            in_pod(mesh, "deploy/curl", *curl, namespace="legacy") == "202"
        )

    wait_for(both_reach, 20, "port 80 to reach the container port named http-fortio (8080)")


def test_an_unknown_image_without_a_command_fails_naming_its_deployment(
    mesh: LocalMeshThread,
) -> None:
    mystery = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: mystery}\n"
        "spec:\n  selector: {matchLabels: {app: mystery}}\n"
        "  template:\n    metadata: {labels: {app: mystery}}\n"
        "    spec: {containers: [{name: web, image: 'nginx:1.27'}]}\n"
    )
    mesh.apply(mystery)
    try:
        status = mesh.mesh.host.status()
        (failed,) = [p for p in status["pods"] if p["name"].startswith("mystery-")]
        reason = failed["reason"]
        assert "\n" not in reason
        assert "Deployment default/mystery" in reason and "'nginx:1.27'" in reason, reason
        assert reason in sailctl(home(mesh), "status")
    finally:
        mesh.delete(mystery)


MATCH_GATEWAYS = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: httpbin-routes}
spec:
  hosts: [httpbin.example.com, httpbin]
  gateways: [httpbin-gateway, mesh]
  http:
  - match: [{gateways: [httpbin-gateway], uri: {prefix: /status}}]
    headers: {response: {set: {x-route: gateway}}}
    route: [{destination: {host: httpbin, port: {number: 8000}}}]
  - match: [{gateways: [mesh], uri: {prefix: /status}}]
    headers: {response: {set: {x-route: mesh}}}
    route: [{destination: {host: httpbin, port: {number: 8000}}}]
  - headers: {response: {set: {x-route: inherited}}}
    route: [{destination: {host: httpbin, port: {number: 8000}}}]
"""


def _via_gateway(mesh: LocalMeshThread, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", mesh.gateway_port(80), timeout=10)
    try:
        conn.request("GET", path, headers={"Host": "httpbin.example.com"})
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("x-route") or ""
    finally:
        conn.close()


def _from_sidecar(mesh: LocalMeshThread, path: str) -> str:
    out = in_pod(
        mesh,
        "deploy/curl",
        "curl",
        "-s",
        "-D",
        "-",
        "-o",
        "/dev/null",
        f"http://httpbin:8000{path}",
    )
    found = [
        line.split(":", 1)[1].strip()
        for line in out.splitlines()
        if line.lower().startswith("x-route:")
    ]
    return found[0] if found else ""


def test_match_gateways_choose_the_gateway_or_the_sidecars(mesh: LocalMeshThread) -> None:
    mesh.apply(MATCH_GATEWAYS)
    try:
        wait_for(lambda: _via_gateway(mesh, "/status/200") == (200, "gateway"), 20, "gateway")
        assert _via_gateway(mesh, "/get") == (200, "inherited")
        wait_for(lambda: _from_sidecar(mesh, "/status/200") == "mesh", 20, "the sidecar route")
        assert _from_sidecar(mesh, "/get") == "inherited"
        # Istio's httpbin-gateway VirtualService ("*") still serves every other host
        conn = http.client.HTTPConnection("127.0.0.1", mesh.gateway_port(80), timeout=10)
        conn.request("GET", "/status/201", headers={"Host": "anything.example.org"})
        assert conn.getresponse().status == 201
        conn.close()
    finally:
        mesh.delete(MATCH_GATEWAYS)


DELEGATION = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: delegating-root, namespace: default}
spec:
  hosts: [delegated.example.com]
  gateways: [httpbin-gateway]
  http:
  - match: [{uri: {prefix: /hello}}]
    delegate: {name: hello, namespace: team-a}
  - match: [{uri: {prefix: /status}}]
    delegate: {name: status, namespace: team-b}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: hello, namespace: team-a}
spec:
  http:
  - route: [{destination: {host: helloworld.default.svc.cluster.local, port: {number: 5000}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: status, namespace: team-b}
spec:
  http:
  - match: [{uri: {prefix: /status/2}}]
    route: [{destination: {host: httpbin.default.svc.cluster.local, port: {number: 8000}}}]
  - match: [{uri: {prefix: /elsewhere}}]
    route: [{destination: {host: httpbin.default.svc.cluster.local, port: {number: 8000}}}]
"""


def _gateway_get(mesh: LocalMeshThread, path: str, host: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", mesh.gateway_port(80), timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_delegation_through_the_gateway(mesh: LocalMeshThread) -> None:
    mesh.apply(DELEGATION)
    host = "delegated.example.com"
    try:
        wait_for(
            lambda: _gateway_get(mesh, "/hello", host)[1].startswith(b"Hello version: v"),
            20,
            "the delegate in team-a to serve /hello",
        )
        assert _gateway_get(mesh, "/status/202", host)[0] == 202  # team-b's delegate
        assert _gateway_get(mesh, "/status/503", host)[0] == 404  # no delegate route matches
        assert _gateway_get(mesh, "/elsewhere", host)[0] == 404  # outside the root: dropped
    finally:
        mesh.delete(DELEGATION)


#: A path regex of the everyday kind whose RE2 program (several hundred instructions, from the
#: bounded repeat) is over Envoy's default limit of 100: Istio's proxies start with a limit of
#: 32768, and so do sailmesh's, so the route is accepted and matches.
EVERYDAY_REGEX = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: httpbin-regex, namespace: default}
spec:
  hosts: [httpbin]
  http:
  - match: [{uri: {regex: "^/anything/(users|orders|items)/[a-z0-9-]{1,64}$"}}]
    headers: {response: {set: {x-route: regex}}}
    route: [{destination: {host: httpbin, port: {number: 8000}}}]
  - route: [{destination: {host: httpbin, port: {number: 8000}}}]
"""


def test_a_regex_over_envoys_default_program_size_routes_as_in_istio(
    mesh: LocalMeshThread,
) -> None:
    mesh.apply(EVERYDAY_REGEX)
    try:
        wait_for(
            lambda: _from_sidecar(mesh, "/anything/orders/a1-b2") == "regex", 20, "the regex route"
        )
        assert _from_sidecar(mesh, "/anything/carts/a1") == ""
        assert mesh.mesh.cp is not None
        status = mesh.mesh.cp.proxy_status()
        assert not [p for p in status if "NACK" in str(p)], status
    finally:
        mesh.delete(EVERYDAY_REGEX)


#: Redirects, rewrites, header manipulation, CORS and direct responses on one VirtualService.
HTTP_FEATURES = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: httpbin-features, namespace: default}
spec:
  hosts: [httpbin]
  http:
  - match: [{uri: {prefix: /old}}]
    redirect: {uri: /anything/new, redirectCode: 301}
  - match: [{uri: {prefix: /moved}}]
    redirect: {uri: /anything/moved, authority: elsewhere.example, derivePort: FROM_REQUEST_PORT}
  - match: [{uri: {prefix: /renamed}}]
    rewrite: {uri: /anything/rewritten, authority: httpbin.internal}
    headers:
      request: {set: {x-set: "1"}, add: {x-added: "2"}, remove: [x-drop]}
      response: {set: {x-response: "3"}}
    route: [{destination: {host: httpbin, port: {number: 8000}}}]
  - match: [{uri: {exact: /teapot}}]
    directResponse: {status: 418, body: {string: "short and stout"}}
  - corsPolicy:
      allowOrigins: [{exact: "https://shop.example.com"}]
      allowMethods: [GET, POST]
      allowHeaders: [x-user]
      maxAge: 24h
    route: [{destination: {host: httpbin, port: {number: 8000}}}]
"""


def _curl(mesh: LocalMeshThread, *args: str) -> tuple[int, dict[str, str], str]:
    """``curl -s -i ARGS`` from the curl pod's sidecar: (status, headers lower-cased, body)."""
    out = in_pod(mesh, "deploy/curl", "curl", "-s", "-i", *args)
    head, _, body = out.replace("\r\n", "\n").partition("\n\n")
    lines = head.splitlines()
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    return status, headers, body


def test_redirect_rewrite_headers_cors_and_direct_responses(mesh: LocalMeshThread) -> None:
    mesh.apply(HTTP_FEATURES)
    try:
        wait_for(lambda: _curl(mesh, "http://httpbin:8000/teapot")[0] == 418, 20, "the routes")
        status, headers, _ = _curl(mesh, "http://httpbin:8000/old/page")
        assert status == 301 and headers["location"].endswith("/anything/new"), headers
        status, headers, _ = _curl(mesh, "http://httpbin:8000/moved")
        assert (status, headers["location"]) == (
            301,
            "http://elsewhere.example:8000/anything/moved",
        )
        status, headers, body = _curl(
            mesh, "-H", "x-drop: secret", "-H", "x-added: 1", "http://httpbin:8000/renamed"
        )
        echoed = json.loads(body)
        assert status == 200 and headers["x-response"] == "3"
        assert echoed["url"].endswith("/anything/rewritten"), echoed["url"]
        sent = {k.lower(): v for k, v in echoed["headers"].items()}
        assert sent["host"] == ["httpbin.internal"] and sent["x-set"] == ["1"]
        assert "x-drop" not in sent and sorted(sent["x-added"]) == ["1", "2"]
        assert _curl(mesh, "http://httpbin:8000/teapot")[2] == "short and stout"
        preflight = ["-X", "OPTIONS", "-H", "Access-Control-Request-Method: POST"]
        status, headers, _ = _curl(
            mesh, *preflight, "-H", "Origin: https://shop.example.com", "http://httpbin:8000/get"
        )
        assert headers["access-control-allow-origin"] == "https://shop.example.com", headers
        assert "POST" in headers["access-control-allow-methods"]
        assert headers["access-control-max-age"] == "86400"
        _, headers, _ = _curl(
            mesh, *preflight, "-H", "Origin: https://evil.example", "http://httpbin:8000/get"
        )
        assert "access-control-allow-origin" not in headers
    finally:
        mesh.delete(HTTP_FEATURES)
