"""Data-plane cost: a bounded load client in one pod calling a small server in another.

Four cases, in one local mesh (netns mode, root only):

(a) both pods without sidecars (namespace ``bare``);
(b) both with sidecars, plaintext between them (PeerAuthentication DISABLE + DestinationRule
    ``tls: DISABLE``);
(c) both with sidecars and Istio mutual TLS (auto mTLS, PeerAuthentication STRICT), Istio's
    standard metrics on (the default);
(c0) as (c) with telemetry off: a Telemetry resource in the namespace disables every metric
    (``ALL_METRICS``), so neither sidecar has a stats logger or the gRPC statistics filter:
    the cost of the metrics is (c) minus (c0);
(d) as (c) plus an AuthorizationPolicy ALLOW on the server (method GET, path ``/``).

The server is nginx (Debian ``nginx-light``) answering a fixed 2-byte body, the client is
``wrk`` (Debian ``wrk``), run with ``sailctl exec`` inside the client pod so its requests go
through the client's sidecar: 1 connection, then 32, each for ``SAILMESH_BENCH_SECONDS``
(default 5) seconds. Each row gives requests per second, p50/p90/p99 latency, the CPU seconds
both sidecars spent per 1,000 requests, and the server sidecar's private memory after the
load. Cases (c), (c0) and (d) are checked on the server sidecar's own counters (TLS
handshakes, RBAC allowed requests, the raw metric ``sailmesh.requests_total`` counting or not):
a case whose feature is not active says so instead of printing figures.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# benchmarks/run.py loads this file by path: make its sibling modules importable.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from procstat import cpu_seconds, descendants, private_kib  # noqa: E402

SECONDS = float(os.environ.get("SAILMESH_BENCH_SECONDS", "5"))
CONNECTIONS = (1, 32)

NGINX_CONF = """\
worker_processes 1;
pid {dir}/nginx-{ns}.pid;
error_log stderr warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 1000000;
    server {{
        listen 8080;
        location / {{ return 200 "ok"; }}
    }}
}}
"""


def _manifest(conf: Path) -> str:
    docs = []
    for ns, inject in (("bare", "disabled"), ("mesh", "enabled")):
        docs.append(
            f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"
            f"  labels:\n    istio-injection: {inject}\n"
        )
        docs.append(
            f"apiVersion: v1\nkind: Service\nmetadata:\n  name: server\n  namespace: {ns}\n"
            "spec:\n  selector:\n    app: server\n  ports:\n  - name: http\n    port: 80\n"
            "    targetPort: 8080\n"
        )
        server_conf = str(conf).replace("{ns}", ns)
        docs.append(
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: server\n"
            f"  namespace: {ns}\nspec:\n  selector:\n    matchLabels:\n      app: server\n"
            "  template:\n    metadata:\n      labels:\n        app: server\n"
            "    spec:\n      containers:\n      - name: nginx\n        image: nginx\n"
            f'        command: ["nginx", "-c", "{server_conf}", "-g", "daemon off;"]\n'
            "        ports:\n        - containerPort: 8080\n"
        )
        docs.append(
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: client\n"
            f"  namespace: {ns}\nspec:\n  selector:\n    matchLabels:\n      app: client\n"
            "  template:\n    metadata:\n      labels:\n        app: client\n"
            "    spec:\n      containers:\n      - name: client\n        image: wrk\n"
            '        command: ["sleep", "infinity"]\n'
        )
    return "---\n".join(docs)


PLAINTEXT = """\
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: mesh}
spec: {mtls: {mode: DISABLE}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: server, namespace: mesh}
spec:
  host: server.mesh.svc.cluster.local
  trafficPolicy: {tls: {mode: DISABLE}}
"""

STRICT = """\
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: mesh}
spec: {mtls: {mode: STRICT}}
"""

NO_METRICS = """\
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: no-metrics, namespace: mesh}
spec:
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: ALL_METRICS, mode: CLIENT_AND_SERVER}
      disabled: true
"""

ALLOW = """\
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: server-get, namespace: mesh}
spec:
  selector: {matchLabels: {app: server}}
  action: ALLOW
  rules:
  - to:
    - operation: {methods: ["GET"], paths: ["/"]}
"""


class Mesh:
    """``sailctl up`` in a private home, driven through ``sailctl``."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.sailctl = str(Path(sys.executable).parent / "sailctl")
        self.env = {**os.environ, "SAILMESH_HOME": str(home)}

    def run(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            [self.sailctl, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            log = self.home / "run" / "mesh.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"sailctl {' '.join(args)}: {done.stderr.strip() or done.stdout}\n{tail}"
            )
        return done.stdout

    def apply(self, text: str) -> None:
        path = self.home / "apply.yaml"
        path.write_text(text)
        self.run("apply", "-f", str(path))

    def delete(self, text: str) -> None:
        path = self.home / "delete.yaml"
        path.write_text(text)
        self.run("delete", "--ignore-not-found", "-f", str(path))

    def envoy_pid(self, ns: str, app: str) -> int | None:
        """The pid of the Envoy of pod ``app-*`` in ``ns``: a descendant of this mesh's process
        (``run/mesh.pid``) whose bootstrap path names the pod's work dir."""
        mesh_pid = int((self.home / "run" / "mesh.pid").read_text().split()[0])
        pod_dir = re.compile(rf"/{re.escape(app)}-[^/]*\.{re.escape(ns)}/proxy/".encode())
        for pid in descendants(mesh_pid):
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv[0].endswith(b"envoy") and any(pod_dir.search(a) for a in argv):
                return pid
        return None

    def stats(self, ns: str, pod: str, prefix: str) -> dict[str, int]:
        out = self.run("exec", "-n", ns, pod, "--", "curl", "-s", "localhost:15000/stats")
        found: dict[str, int] = {}
        for line in out.splitlines():
            name, _, value = line.partition(": ")
            if name.startswith(prefix) and value.strip().isdigit():
                found[name] = int(value)
        return found


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def _wrk(mesh: Mesh, ns: str, connections: int) -> tuple[float, dict[str, float], int]:
    """(requests/s, {p50,p90,p99} in ms, requests) of one bounded wrk run."""
    out = mesh.run(
        "exec",
        "-n",
        ns,
        "deploy/client",
        "--",
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{SECONDS:g}s",
        "--latency",
        "http://server/",
        timeout=SECONDS + 60,
    )
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk in {ns} saw errors:\n{out}")
    pct = {f"p{p}": _ms(m) for p, m in re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.M)}
    return rps, pct, total


def _case(
    mesh: Mesh, label: str, ns: str, check: Callable[[], str | None] | None
) -> list[tuple[str, str, str, str]]:
    rows = []
    for connections in CONNECTIONS:
        client, server = mesh.envoy_pid(ns, "client"), mesh.envoy_pid(ns, "server")
        sidecars = [pid for pid in (client, server) if pid is not None]
        before = sum(cpu_seconds(pid) for pid in sidecars)
        rps, pct, total = _wrk(mesh, ns, connections)
        cpu = sum(cpu_seconds(pid) for pid in sidecars) - before
        problem = check() if check is not None else None
        case = f"{label}, {connections} conn"
        if problem is not None:
            rows.append(("dataplane", case, f"not measured: {problem}", "report"))
            continue
        figures = f"{rps:,.0f} req/s, p50 {pct['p50']:.2f} / p90 {pct['p90']:.2f} / p99 {pct['p99']:.2f} ms"
        if server is not None:
            figures += (
                f", sidecars {1000 * cpu / max(total, 1):.3f} CPU s/1k req,"
                f" server sidecar {private_kib(server) / 1024:.0f} MiB private"
            )
        rows.append(("dataplane", case, figures, "report"))
    return rows


def run() -> list[tuple[str, str, str, str]]:
    missing = [tool for tool in ("wrk", "nginx") if shutil.which(tool) is None]
    if os.geteuid() != 0 or missing:
        why = "needs root (netns mode)" if os.geteuid() != 0 else f"needs {', '.join(missing)}"
        return [("dataplane", "all cases", f"skipped: {why}", "report")]
    with tempfile.TemporaryDirectory(prefix="sm-bench-dp-") as tmp:
        home = Path(tmp)
        home.chmod(0o755)  # the apps run as an unprivileged user: nginx reads its config here
        scratch = home / "nginx"  # and writes its pid and temp files here
        scratch.mkdir(mode=0o1777)
        scratch.chmod(0o1777)
        conf = home / "nginx-{ns}.conf"
        for ns in ("bare", "mesh"):
            Path(str(conf).replace("{ns}", ns)).write_text(NGINX_CONF.format(dir=scratch, ns=ns))
        manifests = home / "manifests"
        manifests.mkdir()
        (manifests / "bench.yaml").write_text(_manifest(conf))
        mesh = Mesh(home)
        try:
            # (a failed `up -d` can leave its mesh running: `down` in every case)
            mesh.run("up", "-d", "--mode", "netns", str(manifests), timeout=180)
            return _measure(mesh)
        finally:
            mesh.run("down", timeout=120)


def _measure(mesh: Mesh) -> list[tuple[str, str, str, str]]:
    rows = _case(mesh, "(a) no sidecars", "bare", None)
    mesh.apply(PLAINTEXT)
    time.sleep(2)
    rows += _case(mesh, "(b) sidecars, plaintext", "mesh", None)
    mesh.delete(PLAINTEXT)
    mesh.apply(STRICT)
    time.sleep(2)

    def tls_active() -> str | None:
        handshakes = mesh.stats("mesh", "deploy/server", "listener.0.0.0.0_15006.ssl.handshake")
        return None if sum(handshakes.values()) > 0 else "no TLS handshake on the server sidecar"

    def requests_counted() -> int:
        counted = mesh.stats("mesh", "deploy/server", "sailmesh.requests_total")
        return sum(counted.values())

    def metrics_on() -> str | None:
        if (problem := tls_active()) is not None:
            return problem
        return None if requests_counted() > 0 else "the server sidecar counts no requests"

    rows += _case(mesh, "(c) sidecars, mTLS, metrics on", "mesh", metrics_on)
    mesh.apply(NO_METRICS)
    time.sleep(2)
    counted_before = requests_counted()

    def metrics_off() -> str | None:
        if (problem := tls_active()) is not None:
            return problem
        counted = requests_counted()
        return None if counted <= counted_before else "the server sidecar still counts requests"

    rows += _case(mesh, "(c0) sidecars, mTLS, metrics off", "mesh", metrics_off)
    mesh.delete(NO_METRICS)
    mesh.apply(ALLOW)
    time.sleep(2)

    def rbac_active() -> str | None:
        if (problem := tls_active()) is not None:
            return problem
        allowed = mesh.stats("mesh", "deploy/server", "http.inbound_0.0.0.0_8080.rbac.allowed")
        return None if sum(allowed.values()) > 0 else "no RBAC decision on the server sidecar"

    rows += _case(mesh, "(d) mTLS + ALLOW policy", "mesh", rbac_active)
    return rows


if __name__ == "__main__":
    for row in run():
        print("  ".join(row))
