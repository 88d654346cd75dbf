"""A mixed mesh end to end: a namespace with sidecars (``istio-injection: enabled``) beside one
without (``disabled``), as during any migration to the mesh.

Pods without a sidecar get no capture rules, and reach Services by name and VIP through rules of
their own that play kube-proxy's role (VIP -> a ready endpoint). Every direction works: sidecar
to sidecar, sidecar to plain pod, plain pod to sidecar (through the server's inbound capture),
plain to plain; a Service with no ready endpoint refuses at once; endpoints follow scaling.
One mesh per sandbox mode with namespaces (netns; userns where it can run) is shared by the
tests of this module.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from runtime_e2e import skip_unless_netns

from e2e_support.localmesh import LocalMeshThread
from e2e_support.proxy import wait_for
from sailmesh.app.local import LocalMesh
from sailmesh.runtime.local import RunningPod
from sailmesh.runtime.sandbox.capture import dump_rules
from sailmesh.runtime.sandbox.errors import ModeUnavailable
from sailmesh.runtime.sandbox.strategies import runtime_mode

pytestmark = pytest.mark.e2e

skip_unless_netns()

#: ``fast`` answers with its namespace and pod name (a stand-in for nginx).
FAST = (
    "import http.server, os\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        body = (os.environ['POD_NAMESPACE'] + ' ' + os.environ['POD_NAME']).encode()\n"
    "        self.send_response(200); self.send_header('Content-Length', str(len(body)))\n"
    "        self.end_headers(); self.wfile.write(body)\n"
    "    def log_message(self, *args): pass\n"
    "http.server.ThreadingHTTPServer(('0.0.0.0', 8080), H).serve_forever()\n"
)


def namespace_manifests(namespace: str, injection: str) -> str:
    """The same Deployments and Services in every namespace: only the injection label differs."""
    fast = json.dumps(["python3", "-c", FAST])
    return f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {namespace}, labels: {{istio-injection: {injection}}}}}
---
apiVersion: v1
kind: Service
metadata: {{name: fast, namespace: {namespace}}}
spec:
  selector: {{app: fast}}
  ports: [{{name: http, port: 80, targetPort: 8080}}]
---
apiVersion: v1
kind: Service
metadata: {{name: nobody, namespace: {namespace}}}
spec:
  selector: {{app: no-such-pod}}
  ports: [{{name: http, port: 80, targetPort: 8080}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: fast, namespace: {namespace}}}
spec:
  selector: {{matchLabels: {{app: fast}}}}
  template:
    metadata: {{labels: {{app: fast}}}}
    spec:
      containers:
      - name: fast
        command: {fast}
        ports: [{{containerPort: 8080}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: client, namespace: {namespace}}}
spec:
  selector: {{matchLabels: {{app: client}}}}
  template:
    metadata: {{labels: {{app: client}}}}
    spec:
      containers: [{{name: client, command: [sleep, "3600"]}}]
"""


MESH = namespace_manifests("mesh", "enabled")
LEGACY = namespace_manifests("legacy", "disabled")


def _userns_unavailable() -> str | None:
    try:
        runtime_mode("userns")
    except ModeUnavailable as exc:
        return str(exc)
    return None


@pytest.fixture(scope="module", params=["netns", "userns"])
def mesh(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalMeshThread]:
    mode = str(request.param)
    if mode == "userns" and (why := _userns_unavailable()) is not None:
        pytest.skip(f"userns mode cannot run here: {why}")
    home = tmp_path_factory.mktemp("sailmesh-home")
    manifests = home / "manifests"
    manifests.mkdir()
    (manifests / "mesh.yaml").write_text(MESH)
    (manifests / "legacy.yaml").write_text(LEGACY)
    m = LocalMeshThread(home)
    m.mesh = LocalMesh(home, mode)
    try:
        m.start([str(manifests)])
        yield m
    finally:
        m.close()


def pod_of(mesh: LocalMeshThread, namespace: str, deployment: str) -> RunningPod:
    assert mesh.mesh.runtime is not None
    found = [
        p
        for p in mesh.mesh.runtime.pods.values()
        if p.plan.namespace == namespace and p.plan.owner == f"Deployment/{deployment}"
    ]
    assert found, f"no pod of {namespace}/{deployment}"
    return found[0]


def rules(mesh: LocalMeshThread, pod: RunningPod) -> str:
    """The pod's nat table as iptables-save prints it (userns: read through the agent)."""
    node = mesh.mesh.node
    return node.dump_rules(pod.sandbox.ns) if node is not None else dump_rules(pod.sandbox.ns)


def get(client: RunningPod, url: str) -> str:
    """``GET url`` from inside ``client``'s pod: the body, or ``ERROR <reason>``."""
    code = (
        "import urllib.request, sys\n"
        "try:\n"
        f"    print(urllib.request.urlopen({url!r}, timeout=5).read().decode())\n"
        "except Exception as exc:\n"
        "    print('ERROR', type(exc).__name__, exc)\n"
    )
    result = client.sandbox.run(["python3", "-c", code], env={"PATH": "/usr/bin:/bin"})
    return result.stdout.strip() or f"ERROR {result.stderr.strip()}"


def test_pods_without_a_sidecar_get_no_capture_rules(mesh: LocalMeshThread) -> None:
    for deployment in ("client", "fast"):
        pod = pod_of(mesh, "legacy", deployment)
        assert not pod.plan.inject
        table = rules(mesh, pod)
        assert "ISTIO_" not in table and "REDIRECT" not in table, table
        assert "SAILMESH_SERVICES" in table
    meshed = rules(mesh, pod_of(mesh, "mesh", "fast"))
    assert "ISTIO_INBOUND" in meshed and "ISTIO_OUTPUT" in meshed


@pytest.mark.parametrize(
    ("client_ns", "client", "url", "answer"),
    [
        ("mesh", "client", "http://fast", "mesh fast-"),
        ("mesh", "client", "http://fast.legacy", "legacy fast-"),
        ("legacy", "client", "http://fast", "legacy fast-"),
        ("legacy", "client", "http://fast.mesh.svc.cluster.local", "mesh fast-"),
    ],
    ids=["sidecar-to-sidecar", "sidecar-to-plain", "plain-to-plain", "plain-to-sidecar"],
)
def test_every_direction_reaches_services_by_name(
    mesh: LocalMeshThread, client_ns: str, client: str, url: str, answer: str
) -> None:
    caller = pod_of(mesh, client_ns, client)
    assert get(caller, url).startswith(answer)


def test_a_plain_pod_reaches_a_service_by_its_vip(mesh: LocalMeshThread) -> None:
    assert mesh.mesh.cp is not None
    vip = mesh.mesh.cp.vips.allocate("mesh", "fast")
    assert get(pod_of(mesh, "legacy", "client"), f"http://{vip}:80/").startswith("mesh fast-")


def test_a_plain_pods_call_to_a_sidecar_goes_through_its_inbound_sidecar(
    mesh: LocalMeshThread,
) -> None:
    server = pod_of(mesh, "mesh", "fast")
    log = server.supervisor.log_path("istio-proxy")
    before = log.read_text(errors="replace").count("inbound|8080||")
    assert get(pod_of(mesh, "legacy", "client"), "http://fast.mesh").startswith("mesh")
    wait_for(
        lambda: log.read_text(errors="replace").count("inbound|8080||") > before,
        5,
        "the server sidecar's inbound access log",
    )


def test_a_service_without_endpoints_refuses_at_once(mesh: LocalMeshThread) -> None:
    started = time.monotonic()
    answer = get(pod_of(mesh, "legacy", "client"), "http://nobody.legacy")
    assert answer.startswith("ERROR") and "refused" in answer.lower(), answer
    assert time.monotonic() - started < 3


def test_scaling_a_service_spreads_plain_calls_over_its_endpoints(mesh: LocalMeshThread) -> None:
    mesh.apply(
        LEGACY.replace(
            "spec:\n  selector: {matchLabels: {app: fast}}",
            "spec:\n  replicas: 2\n  selector: {matchLabels: {app: fast}}",
        )
    )
    client = pod_of(mesh, "legacy", "client")

    def both_answer() -> bool:
        names = {get(client, "http://fast").split()[-1] for _ in range(12)}
        return len({n for n in names if n.startswith("fast-")}) == 2

    wait_for(both_answer, 20, "calls spread over both replicas")
