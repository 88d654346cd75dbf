"""Workload identity in a running local mesh, as the tests read it: a pod's Envoy's secrets
(``proxy-config secret`` rows, the ``default`` certificate) and a probe of a pod's SDS socket
run inside a pod (admitted, refused unread, or refused at ``connect()``)."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

from cryptography import x509

from e2e_support.localmesh import LocalMeshThread
from sailmesh.cli import configdump
from sailmesh.runtime import proxy as envoy_proxy
from sailmesh.runtime.local import RunningPod


def pod_of(mesh: LocalMeshThread, namespace: str, deployment: str) -> RunningPod:
    assert mesh.mesh.runtime is not None
    found = [
        p
        for p in mesh.mesh.runtime.pods.values()
        if p.plan.namespace == namespace and p.plan.owner == f"Deployment/{deployment}"
    ]
    assert found, f"no pod of {namespace}/{deployment}"
    return found[0]


def dump(mesh: LocalMeshThread, namespace: str, deployment: str) -> dict[str, Any]:
    pod = pod_of(mesh, namespace, deployment)
    return envoy_proxy.config_dump(pod.netns_file, pod.admin_port)


def rows(
    mesh: LocalMeshThread, namespace: str, deployment: str, name: str
) -> list[tuple[str, ...]]:
    """``proxy-config secret``'s rows of secret ``name`` in the pod's Envoy, now."""
    found = configdump.secrets(dump(mesh, namespace, deployment), time.time())
    return [r for r in found if r[0] == name]


def chain(mesh: LocalMeshThread, namespace: str, deployment: str) -> list[x509.Certificate]:
    """The pod's Envoy's ``default`` certificate chain (leaf first)."""
    section = configdump.secrets_section(dump(mesh, namespace, deployment))
    for entry in section.get("dynamic_active_secrets", []):
        if entry["name"] == "default":
            data = entry["secret"]["tls_certificate"]["certificate_chain"]["inline_bytes"]
            return x509.load_pem_x509_certificates(base64.b64decode(data))
    raise AssertionError(f"no default secret in {namespace}/{deployment}'s Envoy")


def leaf(mesh: LocalMeshThread, namespace: str, deployment: str) -> x509.Certificate:
    return chain(mesh, namespace, deployment)[0]


def uri_sans(cert: x509.Certificate) -> list[str]:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return ext.get_values_for_type(x509.UniformResourceIdentifier)


#: Connects to a Unix socket and speaks the start of HTTP/2: ``ANSWERED`` (the agent's gRPC
#: server answered), ``CLOSED`` (refused unread) or ``CONNECT-REFUSED <errno>`` (file modes).
PROBE = """
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(3)
try:
    s.connect(sys.argv[1])
except OSError as exc:
    print("CONNECT-REFUSED", exc.errno); sys.exit()
try:
    s.sendall(b"PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
    data = s.recv(4096)
except OSError as exc:  # refused: closed before a byte was read (reset or broken pipe)
    print("CLOSED", exc.errno); sys.exit()
print("ANSWERED" if data else "CLOSED", len(data))
"""


def probe(pod: RunningPod, socket_path: Path, *, as_proxy: bool) -> str:
    """:data:`PROBE` of ``socket_path`` run in ``pod`` as its proxy's or its app's user."""
    result = pod.sandbox.run(
        ["python3", "-c", PROBE, str(socket_path)],
        as_proxy=as_proxy,
        env={"PATH": "/usr/bin:/bin"},
    )
    return result.stdout.strip() or result.stderr.strip()
