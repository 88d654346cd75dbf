"""Troubleshooting verbs against one running demo mesh, as a user runs them: `analyze` of the
live mesh (applied config plus running pods, by namespace or -A; the annotations of running
pods and of Deployments), `version` (each proxy's
Envoy from its admin API), `proxy-config log` (levels that change what Envoy logs on real
traffic), `bug-report` (an archive with no private key or token in it) and `x describe`
(the routes Istio's request-routing task sets up, as real pages take them)."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_e2e import NETWORKING, demo_mesh, sailctl, skip_unless_netns

from config_support.tls_secrets import tls_secret
from e2e_support.bookinfo import converge, login, pod
from e2e_support.localmesh import LocalMeshThread
from e2e_support.proxy import wait_for
from sailmesh.runtime.envoy import find_envoy

pytestmark = pytest.mark.e2e

skip_unless_netns()


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMeshThread]:
    yield from demo_mesh(tmp_path_factory.mktemp("troubleshooting-home"))


def home(mesh: LocalMeshThread) -> Path:
    return mesh.mesh.home


def run(mesh: LocalMeshThread, *args: str, stdin: str | None = None) -> tuple[int, str]:
    """``sailctl ARGS`` against the mesh: exit code and output (any exit code)."""
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "sailctl"), *args],
        env={**os.environ, "SAILMESH_HOME": str(home(mesh))},
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
    )
    return proc.returncode, proc.stdout + proc.stderr


BROKEN = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews, subset: v9}}]}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews-canary}
spec:
  host: ratings
  subsets: [{name: v9, labels: {version: v9}}]
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: shop}
spec: {egress: [{hosts: ["./*"]}]}
"""


def test_analyze_reads_the_running_mesh_by_namespace(mesh: LocalMeshThread) -> None:
    code, out = run(mesh, "analyze")
    assert code == 0, out
    assert "IST0101" not in out and "IST0173" not in out, out
    sailctl(home(mesh), "apply", "-f", "-", stdin=BROKEN)
    code, out = run(mesh, "analyze")
    assert code == 79, out  # an Error remains
    assert (
        "Error [IST0101] (VirtualService default/reviews) Referenced host+subset in "
        'destinationrule not found: "reviews+v9"'
    ) in out, out
    # the subset is checked against the pods that run (ratings-v1 only), not a manifest
    assert (
        "Error [IST0173] (DestinationRule default/reviews-canary) The Subset v9 defined in the "
        "DestinationRule does not select any pods."
    ) in out, out
    assert "shop" not in out  # another namespace: not analyzed without -A
    code, out = run(mesh, "analyze", "-n", "shop")
    assert "Info [IST0102] (Namespace shop) The namespace is not enabled" in out, out
    assert "default/reviews" not in out
    code, out = run(mesh, "analyze", "-A", "-o", "json")
    records = json.loads(out)
    assert {(r["code"], r["origin"]) for r in records} >= {
        ("IST0101", "VirtualService default/reviews"),
        ("IST0102", "Namespace shop"),
    }
    assert all(r["reference"] is None for r in records)  # from the mesh, not a file
    sailctl(home(mesh), "delete", "-f", "-", stdin=BROKEN)
    code, out = run(mesh, "analyze", "-A")
    assert code == 0 and "IST0101" not in out, out


ANNOTATED = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: annotated
  annotations: {sidecar.istio.io/proxyCPU: 100m}
spec:
  selector: {matchLabels: {app: annotated}}
  template:
    metadata:
      labels: {app: annotated}
      annotations:
        networking.istio.io/exportThree: x
        readiness.status.sidecar.istio.io/periodSeconds: soon
    spec:
      containers: [{name: app, command: [sleep, "3600"]}]
"""


def test_analyze_reads_the_annotations_of_running_pods_and_deployments(
    mesh: LocalMeshThread,
) -> None:
    mesh.apply(ANNOTATED)  # and wait until its pod runs
    try:
        name = pod(mesh, "deploy/annotated").plan.name
        code, out = run(mesh, "analyze")
        assert code == 0, out  # warnings only: below the default failure threshold (Error)
        assert (
            "Warning [IST0107] (Deployment default/annotated) Misplaced annotation: "
            "sidecar.istio.io/proxyCPU can only be applied to Pod"
        ) in out, out
        assert (
            f"Warning [IST0108] (Pod default/{name}) Unknown annotation: "
            "networking.istio.io/exportThree"
        ) in out, out
        assert (
            f"Warning [IST0125] (Pod default/{name}) Invalid annotation "
            "readiness.status.sidecar.istio.io/periodSeconds: 'soon' is not an unsigned 32-bit "
            "integer"
        ) in out, out
    finally:
        mesh.delete(ANNOTATED)


def test_version_names_each_proxys_envoy(mesh: LocalMeshThread) -> None:
    binary = subprocess.run([str(find_envoy()), "--version"], capture_output=True, text=True)
    found = re.search(r"version: [0-9a-f]+/(\d+\.\d+\.\d+)/", binary.stdout)
    assert found, binary.stdout
    envoy = found.group(1)
    assert mesh.mesh.runtime is not None
    proxies = [p for p in mesh.mesh.runtime.pods.values() if p.plan.inject or p.plan.gateway]
    code, out = run(mesh, "version")
    assert code == 0, out
    from sailmesh import __version__

    assert f"client version: {__version__}" in out
    assert re.search(
        rf"control plane version: {re.escape(__version__)} \(config revision \d+\)", out
    )
    assert f"data plane version: envoy {envoy} ({len(proxies)} proxies)" in out, out
    rows = {
        line.split()[0]: line.split()
        for line in out.splitlines()
        if line.startswith(("default/", "istio-system/"))
    }
    assert len(rows) == len(proxies)
    gateway = next(
        r for name, r in rows.items() if name.startswith("istio-system/istio-ingressgateway")
    )
    assert gateway[1:3] == ["gateway", envoy]
    assert all(r[2] == envoy for r in rows.values())
    code, out = run(mesh, "version", "--no-remote")
    assert out.strip() == f"client version: {__version__}"


def _router_lines(mesh: LocalMeshThread) -> int:
    log = pod(mesh, "deploy/productpage-v1").supervisor.log_path("istio-proxy")
    return sum("][router]" in line for line in log.read_text(errors="replace").splitlines())


def _call_details(mesh: LocalMeshThread) -> None:
    client = pod(mesh, "deploy/productpage-v1")
    code = "import urllib.request as u; print(u.urlopen('http://details:9080/details/0').status)"
    result = client.sandbox.run(["python3", "-c", code], env={"PATH": "/usr/bin:/bin"})
    assert result.stdout.strip() == "200", result.stderr


def test_proxy_config_log_changes_what_envoy_logs(mesh: LocalMeshThread) -> None:
    code, out = run(mesh, "proxy-config", "log", "deploy/productpage-v1")
    assert code == 0 and out.startswith("active loggers:"), out
    levels = dict(re.findall(r"^\s+(\w+): (\w+)$", out, re.M))
    assert levels["router"] != "debug" and len(levels) > 20
    _call_details(mesh)
    before = _router_lines(mesh)
    code, out = run(
        mesh, "proxy-config", "log", "deploy/productpage-v1", "--level", "router:debug,http:debug"
    )
    assert code == 0, out
    assert re.search(r"^\s+router: debug$", out, re.M) and re.search(r"^\s+http: debug$", out, re.M)
    _call_details(mesh)
    wait_for(lambda: _router_lines(mesh) > before, 10, "router debug lines in the sidecar log")
    code, out = run(mesh, "proxy-config", "log", "deploy/productpage-v1", "--reset")
    assert re.search(r"^\s+router: warning$", out, re.M), out
    admin = mesh.mesh.runtime_call("loglevel", {"pod": "deploy/productpage-v1"})
    assert "router: warning" in admin["body"] and "http: warning" in admin["body"]
    code, out = run(mesh, "proxy-config", "log", "deploy/productpage-v1", "--level", "loud")
    assert code != 0 and "unknown level 'loud'" in out


TOKEN = "s3cr3t-opaque-token-0123456789"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJqYXNvbiJ9.c2lnbmF0dXJlLWJ5dGVz"


def _leaky(key_pem: str) -> str:
    """A workload that writes a bearer token, a JWT and a private key to its log."""
    script = (
        f"print('GET /api Authorization: Bearer {TOKEN}'); print('jwt={JWT}'); "
        f"print({key_pem!r}); import time; time.sleep(3600)"
    )
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: leaky}}
spec:
  selector: {{matchLabels: {{app: leaky}}}}
  template:
    metadata: {{labels: {{app: leaky}}}}
    spec:
      containers:
      - name: app
        image: leaky
        command: [python3, -u, -c, {json.dumps(script)}]
"""


def test_bug_report_has_everything_but_secrets(mesh: LocalMeshThread, tmp_path: Path) -> None:
    secret = tls_secret("bookinfo-cert")
    key_b64 = re.search(r"tls\.key: (\S+)", secret)
    assert key_b64
    key_pem = base64.b64decode(key_b64.group(1)).decode()
    sailctl(home(mesh), "apply", "-f", "-", stdin=secret + "---\n" + _leaky(key_pem))
    leaky = lambda: mesh.mesh.runtime is not None and mesh.mesh.runtime.find_pod("deploy/leaky")  # noqa: E731
    wait_for(lambda: bool(leaky()), 30, "the leaky pod")
    log = pod(mesh, "deploy/leaky").supervisor.log_path("app")
    wait_for(lambda: log.exists() and "PRIVATE KEY" in log.read_text(), 30, "the leaky log")

    out_file = tmp_path / "report.tar.gz"
    code, out = run(mesh, "bug-report", "-o", str(out_file))
    assert code == 0, out
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600
    with tarfile.open(out_file) as tar:
        members = {
            m.name: tar.extractfile(m).read().decode() for m in tar.getmembers() if m.isfile()
        }  # type: ignore[union-attr]
    names = set(members)
    assert any(n.endswith("/logging.txt") for n in names)
    assert members["bug-report/errors.txt"].strip() == "none"
    assert {
        "bug-report/version.json",
        "bug-report/config.yaml",
        "bug-report/analyze.txt",
        "bug-report/proxy-status.json",
        "bug-report/runtime-status.json",
    } <= names
    dumps = [n for n in names if n.endswith("/config_dump.json")]
    assert any("/istio-system/istio-ingressgateway" in n for n in dumps)
    assert any("/default/productpage-v1" in n for n in dumps)
    assert json.loads(members[next(n for n in dumps if "productpage" in n)])["configs"]
    leaky_log = next(
        v
        for n, v in members.items()
        if n.startswith("bug-report/logs/default/leaky") and n.endswith("/app.log")
    )
    assert "Authorization: Bearer [redacted]" in leaky_log and "jwt=[redacted]" in leaky_log
    assert "bookinfo-cert" in members["bug-report/config.yaml"]  # the Secret, keys kept
    assert "tls.key: '[redacted]'" in members["bug-report/config.yaml"]
    everything = "\n".join(members.values())
    for leaked in ("PRIVATE KEY", key_b64.group(1)[:40], TOKEN, JWT, key_pem.splitlines()[1]):
        assert leaked not in everything, f"the report leaks {leaked[:20]!r}"
    sailctl(home(mesh), "delete", "-f", "-", stdin=secret + "---\n" + _leaky(key_pem))


def describe(mesh: LocalMeshThread, *args: str) -> list[str]:
    code, out = run(mesh, "x", "describe", *args)
    assert code == 0, out
    return out.splitlines()


def test_describe_shows_the_routes_traffic_takes(mesh: LocalMeshThread) -> None:
    """Istio's request-routing task (jason -> v2, everyone else -> v1): describe says which
    pods the routes reach, and real pages through the gateway agree."""
    sailctl(home(mesh), "apply", "-f", str(NETWORKING / "virtual-service-reviews-test-v2.yaml"))
    port = mesh.gateway_port(8080)
    converge(port, "none")  # v1: no stars
    converge(port, "black", cookie=login(port, "jason"))  # v2: black stars

    v1 = describe(mesh, "pod", "deploy/reviews-v1")
    assert v1[0] == f"Pod: {pod(mesh, 'deploy/reviews-v1').plan.name}"
    assert v1[1] == "   Pod Ports: 9080 (reviews), 15090 (istio-proxy)"
    at = v1.index("Service: reviews")
    assert v1[at : at + 8] == [
        "Service: reviews",
        "   Port: http 9080/HTTP targets pod port 9080",
        'DestinationRule: reviews for "reviews"',
        "   Matching subsets: v1",
        "      (Non-matching subsets v2,v3)",
        "   No Traffic Policy",
        "VirtualService: reviews",
        "   2 HTTP route(s)",
    ]
    assert "      Route to subset v1 for (everything)" in v1
    assert v1[v1.index("Effective PeerAuthentication:") + 1] == "   Workload mTLS mode: PERMISSIVE"

    v3 = describe(mesh, "pod", "deploy/reviews-v3")
    at = v3.index("VirtualService: reviews")
    assert v3[at + 1 : at + 4] == [
        "   WARNING: No destinations match pod subsets (checked 2 HTTP routes)",
        "      Route to non-matching subset v2 for (when headers are end-user=jason)",
        "      Route to non-matching subset v1 for (everything)",
    ]

    page = describe(mesh, "pod", "deploy/productpage-v1")
    assert f"Exposed on Ingress Gateway http://127.0.0.1:{port}" in page
    at = page.index("VirtualService: bookinfo")
    assert page[at + 1] == "   /productpage, /static*, /login, /logout, /api/v1/products*"

    svc = describe(mesh, "service", "reviews")
    assert svc[:2] == ["Service: reviews", "   Port: http 9080/HTTP targets pod port 9080"]
    assert [ln for ln in svc if ln.startswith("   Subset ")] == [
        "   Subset v1: 1 pod(s)",
        "   Subset v2: 1 pod(s)",
        "   Subset v3: 1 pod(s)",
    ]
    assert "      Route to subset v2 for (when headers are end-user=jason)" in svc

    sailctl(home(mesh), "apply", "-f", str(NETWORKING / "virtual-service-reviews-50-v3.yaml"))
    v1 = describe(mesh, "pod", "deploy/reviews-v1")
    assert "   Weight 50%" in v1 and "      Route to subset v1 (50%) for (everything)" in v1
    sailctl(home(mesh), "delete", "-f", str(NETWORKING / "virtual-service-reviews-50-v3.yaml"))
    code, out = run(mesh, "x", "describe", "service", "nothing")
    assert code == 1 and 'service "nothing" not found' in out
