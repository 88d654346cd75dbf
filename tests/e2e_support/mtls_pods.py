"""Pods with real Envoy sidecars fed by a real control plane, each with a node agent serving its
workload certificate over SDS: the mutual TLS translation end to end before the local runtime
wires identities itself.

Each pod is a :class:`~sailmesh.runtime.sandbox.pod.PodSandbox` (network namespace on the run's
bridge, Istio's capture rules when it has a sidecar). A sidecar's Envoy runs as uid 1337 in the
pod, gets ADS from the control plane's Unix socket and SDS from its own
:class:`~sailmesh.runtime.agent.workload.WorkloadAgent` (socket 0660, group 1337; the agent
also checks that the peer is uid 1337 in the pod's namespace). Workloads reach the registry as
the runtime would publish them, with ``security.istio.io/tlsMode: istio`` for sidecar pods.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from e2e_support.controlplane import ControlPlaneThread
from e2e_support.mtls import AgentThread
from e2e_support.proxy import wait_for
from sailmesh.app.identity import SECRET_RENDERER, ca_signer
from sailmesh.ca.authority import Authority
from sailmesh.ca.identity import SpiffeId
from sailmesh.registry.model import TLS_MODE_ISTIO, TLS_MODE_LABEL, Workload, frozen_map
from sailmesh.runtime.agent.peer import PodPeerPolicy, netns_of_file
from sailmesh.runtime.agent.workload import WorkloadAgent
from sailmesh.runtime.proxy import admin_request, envoy_argv, envoy_ready
from sailmesh.runtime.sandbox.capture import PROXY_GID, PROXY_UID, CaptureConfig
from sailmesh.runtime.sandbox.hosts import ServiceName
from sailmesh.runtime.sandbox.netns import RunNames
from sailmesh.runtime.sandbox.pod import PodSandbox, PodSpec
from sailmesh.xds.bootstrap import UnixAddress, render_bootstrap, sidecar_node_id
from sailmesh.xds.node import node_metadata_for

ENVOY = Path(__file__).resolve().parents[2] / ".venv/lib/python3.11/site-packages/envoy/_bin/envoy"

#: An HTTP server answering with the ``x-forwarded-client-cert`` it got (``-`` for none) on
#: the port of its first argument, and a TCP server answering ``tcp-ok`` to the client's first
#: bytes on the second (client first, as the TLS inspector needs).
ECHO_APP = """
import http.server, socketserver, sys, threading
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (self.headers.get('x-forwarded-client-cert') or '-').encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
class T(socketserver.BaseRequestHandler):
    def handle(self):
        if self.request.recv(64):
            self.request.sendall(b'tcp-ok')
socketserver.ThreadingTCPServer.allow_reuse_address = True
tcp = socketserver.ThreadingTCPServer(('0.0.0.0', int(sys.argv[2])), T)
threading.Thread(target=tcp.serve_forever, daemon=True).start()
http.server.ThreadingHTTPServer(('0.0.0.0', int(sys.argv[1])), H).serve_forever()
"""

#: A TLS server on argv[1] with certificate argv[2]/key argv[3]; with argv[4] (a CA file) it
#: requires a client certificate signed by that CA. Answers ``tls-ok <client CN or ->``.
TLS_APP = """
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        cert = self.connection.getpeercert() or {}
        subject = dict(x[0] for x in cert.get('subject', ()))
        body = ('tls-ok ' + subject.get('commonName', '-')).encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[2], sys.argv[3])
if len(sys.argv) > 4:
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(sys.argv[4])
server = http.server.ThreadingHTTPServer(('0.0.0.0', int(sys.argv[1])), H)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"""


@dataclass
class Pod:
    sandbox: PodSandbox
    name: str
    service_account: str
    sidecar: bool
    agent: WorkloadAgent | None = None
    access_log: Path | None = None

    @property
    def ip(self) -> str:
        assert self.sandbox.ip is not None
        return self.sandbox.ip

    @property
    def identity(self) -> str:
        return SpiffeId("cluster.local", "default", self.service_account).uri

    def admin(self, path: str) -> str:
        status, body = admin_request(self.sandbox.netns_file, path)
        assert status == 200, body
        return body

    def stat(self, name: str) -> int:
        """An Envoy counter of this pod's sidecar (0 when it does not exist)."""
        body = self.admin(f"/stats?format=json&filter={quote('^' + re.escape(name) + '$')}")
        found = json.loads(body).get("stats", [])
        return int(found[0]["value"]) if found else 0

    def stats(self, pattern: str) -> dict[str, int]:
        body = self.admin(f"/stats?format=json&filter={quote(pattern)}")
        return {s["name"]: int(s.get("value", 0)) for s in json.loads(body).get("stats", [])}

    def log_lines(self) -> list[str]:
        if self.access_log is None or not self.access_log.exists():
            return []
        return self.access_log.read_text().splitlines()


@dataclass
class PodMesh:
    """Pods of one run in namespace ``default`` (see the module docstring)."""

    names: RunNames
    cp: ControlPlaneThread
    authority: Authority
    agents: AgentThread = field(default_factory=AgentThread)
    pods: list[Pod] = field(default_factory=list)

    def add(
        self,
        name: str,
        *,
        sidecar: bool,
        services: list[ServiceName],
        labels: dict[str, str],
        app: list[str] | None = None,
    ) -> Pod:
        spec = PodSpec(name, index=len(self.pods), capture=CaptureConfig() if sidecar else None)
        sandbox = PodSandbox(self.names, spec)
        pod = Pod(sandbox, name, service_account=name, sidecar=sidecar)
        self.pods.append(pod)
        sandbox.create(services)
        if sidecar:
            labels = {**labels, TLS_MODE_LABEL: TLS_MODE_ISTIO}
        assert self.cp.cp is not None
        self.cp.cp.registry.set_workload(
            Workload(name, "default", pod.ip, frozen_map(labels), service_account=name)
        )
        if sidecar:
            self._start_sidecar(pod, labels)
        if app is not None:
            sandbox.spawn([sys.executable, "-c", *app], stdout=sandbox.workdir / "app.log")
        return pod

    def _start_sidecar(self, pod: Pod, labels: dict[str, str]) -> None:
        sandbox = pod.sandbox
        proxy_dir = sandbox.workdir / "proxy"
        assert sandbox.netns_file is not None
        policy = PodPeerPolicy(netns_of_file(str(sandbox.netns_file)), frozenset({PROXY_UID}))
        pod.agent = self.agents.add(
            WorkloadAgent(
                SpiffeId("cluster.local", "default", pod.service_account),
                signer=ca_signer(self.authority),
                renderer=SECRET_RENDERER,
                socket_path=proxy_dir / "sds.sock",
                peer_check=policy.check,
                socket_mode=0o660,
                socket_group=PROXY_GID,
            )
        )
        pod.access_log = proxy_dir / "access.log"
        assert self.cp.ads_unix_path is not None
        bootstrap = render_bootstrap(
            node_id=sidecar_node_id(pod.ip, pod.name, "default"),
            cluster=f"{pod.name}.default",
            xds_address=UnixAddress(str(self.cp.ads_unix_path)),
            metadata=node_metadata_for(
                "default", labels, pod.service_account, access_log=str(pod.access_log), sds=True
            ),
            admin_host="127.0.0.1",
            admin_port=15000,
            sds_socket=str(proxy_dir / "sds.sock"),
        )
        config = proxy_dir / "envoy.json"
        config.write_text(json.dumps(bootstrap))
        sandbox.spawn(
            envoy_argv(ENVOY, config), as_proxy=True, stdout=sandbox.workdir / "envoy.log"
        )
        wait_for(lambda: envoy_ready(sandbox.netns_file), 20, f"{pod.name}'s Envoy LIVE")

    def close(self) -> None:
        try:
            for pod in reversed(self.pods):
                pod.sandbox.destroy()
        finally:
            self.agents.close()
