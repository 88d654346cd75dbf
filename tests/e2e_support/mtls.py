"""Static Envoy bootstraps for mutual TLS with certificates over SDS (no control plane), a
backend that echoes ``x-forwarded-client-cert``, and node agents on a loop thread."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from e2e_support.loop_thread import LoopThread
from sailmesh.runtime.agent.peer import PodPeerPolicy, netns_of_pid
from sailmesh.runtime.agent.workload import WorkloadAgent
from sailmesh.runtime.envoy import EnvoyProcess
from sailmesh.xds.bootstrap import UnixAddress, render_bootstrap
from sailmesh.xds.secrets import DEFAULT_SECRET, ROOT_SECRET, sds_reference

TLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3"
HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"


def this_host_policy() -> PodPeerPolicy:
    """The "pod" of these tests: this process's network namespace and user."""
    netns = netns_of_pid(os.getpid())
    assert netns is not None
    return PodPeerPolicy(netns, frozenset({os.getuid()}))


def _sds(name: str) -> dict[str, Any]:
    found: dict[str, Any] = json_format.MessageToDict(
        sds_reference(name), preserving_proto_field_name=True
    )
    return found


def _common_tls(peer_san: str | None) -> dict[str, Any]:
    validation: dict[str, Any] = {"validation_context_sds_secret_config": _sds(ROOT_SECRET)}
    default: dict[str, Any] = {}
    if peer_san is not None:
        default["match_typed_subject_alt_names"] = [
            {"san_type": "URI", "matcher": {"exact": peer_san}}
        ]
    return {
        "tls_certificate_sds_secret_configs": [_sds(DEFAULT_SECRET)],
        "combined_validation_context": {"default_validation_context": default, **validation},
    }


def _cluster(name: str, port: int, tls: dict[str, Any] | None = None) -> dict[str, Any]:
    cluster: dict[str, Any] = {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": {
                                    "socket_address": {"address": "127.0.0.1", "port_value": port}
                                }
                            }
                        }
                    ]
                }
            ],
        },
    }
    if tls is not None:
        cluster["transport_socket"] = {
            "name": "envoy.transport_sockets.tls",
            "typed_config": {"@type": f"{TLS}.UpstreamTlsContext", **tls},
        }
    return cluster


def _listener(port: int, cluster: str, hcm_extra: dict[str, Any]) -> dict[str, Any]:
    hcm = {
        "@type": HCM,
        "stat_prefix": f"l{port}",
        "route_config": {
            "virtual_hosts": [
                {
                    "name": "all",
                    "domains": ["*"],
                    "routes": [{"match": {"prefix": "/"}, "route": {"cluster": cluster}}],
                }
            ]
        },
        "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {"@type": ROUTER}}],
        **hcm_extra,
    }
    return {
        "name": f"listener_{port}",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
        "filter_chains": [
            {
                "filters": [
                    {"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}
                ]
            }
        ],
    }


def _bootstrap(node: str, sds_socket: Path) -> dict[str, Any]:
    document = render_bootstrap(
        node_id=node,
        cluster=node,
        xds_address=UnixAddress("/nonexistent/xds.sock"),
        admin_port=0,
        sds_socket=str(sds_socket),
    )
    del document["dynamic_resources"]  # static config only: no control plane in these tests
    return document


def server_bootstrap(sds_socket: Path, port: int, backend_port: int) -> dict[str, Any]:
    """A server sidecar: mTLS on ``port`` (client certificate required), XFCC set, to the
    plaintext backend."""
    document = _bootstrap("server", sds_socket)
    document["static_resources"]["clusters"].append(_cluster("backend", backend_port))
    listener = _listener(
        port,
        "backend",
        {
            "forward_client_cert_details": "SANITIZE_SET",
            "set_current_client_cert_details": {"uri": True},
        },
    )
    listener["filter_chains"][0]["transport_socket"] = {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": f"{TLS}.DownstreamTlsContext",
            "require_client_certificate": True,
            "common_tls_context": _common_tls(None),
        },
    }
    document["static_resources"]["listeners"] = [listener]
    return document


def client_bootstrap(
    sds_socket: Path, port: int, server_port: int, server_san: str
) -> dict[str, Any]:
    """A client sidecar: plaintext on ``port``, mTLS to the server (whose SAN it checks)."""
    document = _bootstrap("client", sds_socket)
    tls = {"common_tls_context": _common_tls(server_san)}
    document["static_resources"]["clusters"].append(_cluster("server", server_port, tls))
    document["static_resources"]["listeners"] = [_listener(port, "server", {})]
    return document


def start(workdir: Path, name: str, bootstrap: dict[str, Any]) -> EnvoyProcess:
    config = workdir / f"{name}.json"
    config.write_text(json.dumps(bootstrap))
    envoy = EnvoyProcess(
        config, log_path=workdir / f"{name}.log", extra_args=["--concurrency", "1"]
    )
    envoy.start()
    return envoy


class XfccBackend:
    """Answers every GET with the ``x-forwarded-client-cert`` it received."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def do_GET(self) -> None:
                body = (self.headers.get("x-forwarded-client-cert") or "").encode()
                self.send_response(200)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="xfcc")

    def __enter__(self) -> XfccBackend:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class AgentThread(LoopThread):
    """Node agents on one event loop thread."""

    def __init__(self) -> None:
        super().__init__("agents", timeout=10)
        self.agents: list[WorkloadAgent] = []

    def add(self, agent: WorkloadAgent) -> WorkloadAgent:
        self.call(agent.start())
        self.agents.append(agent)
        return agent

    def stop(self) -> None:
        for agent in self.agents:
            self.call(agent.stop())
