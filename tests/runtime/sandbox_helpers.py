"""Helpers for the sandbox end-to-end tests: Envoy bootstraps, an app server, polling."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sailmesh.runtime.sandbox import netns
from sailmesh.runtime.sandbox.forward import socket_in_netns
from sailmesh.runtime.sandbox.hosts import ETC_NETNS

ENVOY = Path(__file__).resolve().parents[2] / ".venv/lib/python3.11/site-packages/envoy/_bin/envoy"

# A tiny HTTP server answering with its pod name and the client address it sees.
APP_SERVER = """
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"pod": sys.argv[2], "client": self.client_address[0]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), H).serve_forever()
"""

ACCESS_LOG_FORMAT = (
    "remote=%DOWNSTREAM_REMOTE_ADDRESS% local=%DOWNSTREAM_LOCAL_ADDRESS% "
    "upstream=%UPSTREAM_HOST% upstream_local=%UPSTREAM_LOCAL_ADDRESS%\n"
)


def wait_for(check: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``check`` every 20 ms until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def can_connect(netns_file: Path | None, host: str, port: int) -> bool:
    """Whether a TCP connect to host:port succeeds from inside the namespace."""
    sock = socket_in_netns(netns_file)
    try:
        sock.setblocking(True)
        sock.settimeout(0.5)
        sock.connect((host, port))
        return True
    except OSError:
        return False
    finally:
        sock.close()


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: Path) -> None:
        super().__init__("admin", timeout=2)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(str(self.path))
        self.sock = sock


def admin_get(admin_socket: Path, path: str) -> str:
    """GET ``path`` from an Envoy admin API listening on a Unix socket; return the body."""
    conn = _UnixHTTPConnection(admin_socket)
    try:
        conn.request("GET", path)
        return conn.getresponse().read().decode()
    finally:
        conn.close()


def stat(admin_socket: Path, name: str) -> int:
    """The value of one counter of an Envoy (0 when absent)."""
    for line in admin_get(admin_socket, f"/stats?filter=^{name}$").splitlines():
        key, _, value = line.partition(": ")
        if key == name:
            return int(value)
    return 0


def envoy_ready(admin_socket: Path) -> bool:
    """Whether Envoy's admin API says LIVE."""
    try:
        return admin_get(admin_socket, "/ready").strip() == "LIVE"
    except OSError:
        return False


def _tcp_proxy(stat_prefix: str, cluster: str, access_log: Path) -> dict[str, Any]:
    return {
        "name": "envoy.filters.network.tcp_proxy",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
            "stat_prefix": stat_prefix,
            "cluster": cluster,
            "access_log": [
                {
                    "name": "envoy.access_loggers.file",
                    "typed_config": {
                        "@type": "type.googleapis.com/"
                        "envoy.extensions.access_loggers.file.v3.FileAccessLog",
                        "path": str(access_log),
                        "log_format": {"text_format_source": {"inline_string": ACCESS_LOG_FORMAT}},
                    },
                }
            ],
        },
    }


def _address(ip: str, port: int) -> dict[str, Any]:
    return {"socket_address": {"address": ip, "port_value": port}}


def sidecar_bootstrap(
    *,
    admin_socket: Path,
    access_log: Path,
    listener_name: str,
    port: int,
    cluster: str,
    upstream: tuple[str, int],
    source_address: str | None = None,
) -> dict[str, Any]:
    """A static Envoy bootstrap: one capture listener (original dst restored) → one cluster."""
    cluster_cfg: dict[str, Any] = {
        "name": cluster,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": cluster,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": _address(*upstream)}}]}],
        },
    }
    if source_address:
        bind = {"address": source_address, "port_value": 0}
        cluster_cfg["upstream_bind_config"] = {"source_address": bind}
    original_dst = {
        "name": "envoy.filters.listener.original_dst",
        "typed_config": {
            "@type": "type.googleapis.com/"
            "envoy.extensions.filters.listener.original_dst.v3.OriginalDst"
        },
    }
    return {
        "node": {"id": f"sidecar~{listener_name}", "cluster": "test"},
        "admin": {"address": {"pipe": {"path": str(admin_socket), "mode": 0o666}}},
        "static_resources": {
            "listeners": [
                {
                    "name": listener_name,
                    "address": _address("0.0.0.0", port),
                    "use_original_dst": True,
                    "listener_filters": [original_dst],
                    "filter_chains": [
                        {"filters": [_tcp_proxy(listener_name, cluster, access_log)]}
                    ],
                }
            ],
            "clusters": [cluster_cfg],
        },
    }


def write_json(path: Path, value: Any) -> Path:
    """Write ``value`` as JSON (Envoy reads JSON bootstraps), readable by the proxy uid."""
    path.write_text(json.dumps(value, indent=1))
    path.chmod(0o644)
    return path


def explicit_proxy_bootstrap(
    *, admin_socket: Path, listen_port: int, domains: list[str], upstream: tuple[str, int]
) -> dict[str, Any]:
    """An Envoy HTTP proxy on 127.0.0.1 routing by Host header (the explicit mode's sidecar)."""
    hcm = {
        "@type": "type.googleapis.com/"
        "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "outbound_http",
        "route_config": {
            "name": "outbound",
            "virtual_hosts": [
                {
                    "name": "reviews",
                    "domains": domains,
                    "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "reviews"}}],
                }
            ],
        },
        "http_filters": [
            {
                "name": "envoy.filters.http.router",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
                },
            }
        ],
    }
    endpoint = {"endpoint": {"address": _address(*upstream)}}
    hcm_filter = {"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}
    return {
        "node": {"id": "sidecar~explicit", "cluster": "test"},
        "admin": {"address": {"pipe": {"path": str(admin_socket), "mode": 0o666}}},
        "static_resources": {
            "listeners": [
                {
                    "name": "outbound_http",
                    "address": _address("127.0.0.1", listen_port),
                    "filter_chains": [{"filters": [hcm_filter]}],
                }
            ],
            "clusters": [
                {
                    "name": "reviews",
                    "type": "STATIC",
                    "connect_timeout": "1s",
                    "load_assignment": {
                        "cluster_name": "reviews",
                        "endpoints": [{"lb_endpoints": [endpoint]}],
                    },
                }
            ],
        },
    }


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def leftovers(run_id: str) -> list[str]:
    """Everything of run ``run_id`` still on the host (namespaces, mounts, files, processes)."""
    names = netns.RunNames(run_id)
    found = [f"netns {n}" for n in netns.list_netns(names.prefix)]
    found += [f"mount {m}" for m in netns.mounts_with(names.prefix)]
    if ETC_NETNS.is_dir():
        found += [f"file {p}" for p in ETC_NETNS.iterdir() if p.name.startswith(names.prefix)]
    if names.workdir.exists():
        found.append(f"file {names.workdir}")
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=False)
    found += [f"host link {line}" for line in links.stdout.splitlines() if names.prefix in line]
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and proc.name != str(os.getpid()):
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if names.prefix in cmdline:
                found.append(f"process {proc.name}: {cmdline}")
    return found
