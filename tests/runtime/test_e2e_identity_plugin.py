"""Workload identity from a plug-in CA (``sailctl up --cacerts DIR``, Istio's ``cacerts`` files)
and a trust domain of the mesh config, end to end, in the netns and userns modes.

The plug-in root signs an intermediate that has ten minutes left: the pods' certificates come
from the intermediate (sent with it; ``ROOTCA`` is the plug-in root), name the trust domain of
``meshConfig.trustDomain``, and end no later than the intermediate; ``sailctl status`` warns
about the intermediate (one line) and not about the root. The plug-in key is read in place, not
copied. Another pod's Envoy (in userns mode the same uid as every pod's) is refused by a pod's
SDS socket. Rotating a plug-in CA needs the new CA's directory. A new ``trustDomain`` re-issues
every pod's certificate in it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from runtime_e2e import sailctl, skip_unless_netns

from e2e_support.identity import chain, pod_of, probe, rows, uri_sans
from e2e_support.localmesh import LocalMeshThread
from e2e_support.proxy import wait_for
from sailmesh.app.local import LocalMesh
from sailmesh.ca.authority import issue_intermediate, self_signed_root
from sailmesh.ca.storage import save_cacerts
from sailmesh.runtime.sandbox.errors import ModeUnavailable
from sailmesh.runtime.sandbox.strategies import runtime_mode

pytestmark = pytest.mark.e2e

skip_unless_netns()

#: Seconds the plug-in intermediate has left when the mesh starts (a third of its lifetime is
#: about 1,000 s, so it warns).
INTERMEDIATE_LEFT = 600.0

MESH_CONFIG = """
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {name: mesh, namespace: istio-system}
spec:
  meshConfig:
    trustDomain: %s
    trustDomainAliases: [old.example.org]
"""

MANIFESTS = (
    MESH_CONFIG % "example.org"
    + """
---
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: echo, namespace: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo, namespace: shop}
spec:
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      serviceAccountName: echo
      containers: [{name: echo, command: [sleep, "3600"]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: peer, namespace: shop}
spec:
  selector: {matchLabels: {app: peer}}
  template:
    metadata: {labels: {app: peer}}
    spec:
      containers: [{name: peer, command: [sleep, "3600"]}]
"""
)


@dataclass
class PluginMesh:
    thread: LocalMeshThread
    home: Path
    cacerts: Path
    root: x509.Certificate
    intermediate: x509.Certificate


def _userns_unavailable() -> str | None:
    try:
        runtime_mode("userns")
    except ModeUnavailable as exc:
        return str(exc)
    return None


def make_cacerts(directory: Path) -> tuple[x509.Certificate, x509.Certificate]:
    """A plug-in CA: a root, and an intermediate of it that ends in :data:`INTERMEDIATE_LEFT`."""
    now = time.time()
    root = self_signed_root("example.org", now, common_name="Plug-in Root")
    lifetime = 3 * INTERMEDIATE_LEFT
    start = now + INTERMEDIATE_LEFT - lifetime
    intermediate = issue_intermediate(root, start, ttl=lifetime - 60, common_name="Plug-in CA")
    save_cacerts(directory, intermediate)
    return root.roots[0], intermediate.signing_cert


@pytest.fixture(scope="module", params=["netns", "userns"])
def mesh(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PluginMesh]:
    mode = str(request.param)
    if mode == "userns" and (why := _userns_unavailable()) is not None:
        pytest.skip(f"userns mode cannot run here: {why}")
    home = tmp_path_factory.mktemp("sailmesh-home")
    cacerts = tmp_path_factory.mktemp("cacerts")
    root, intermediate = make_cacerts(cacerts)
    manifests = home / "manifests"
    manifests.mkdir()
    (manifests / "mesh.yaml").write_text(MANIFESTS)
    thread = LocalMeshThread(home)
    thread.mesh = LocalMesh(home, mode, cacerts=cacerts)
    try:
        thread.start([str(manifests)])
        yield PluginMesh(thread, home, cacerts, root, intermediate)
    finally:
        thread.close()


def test_certificates_come_from_the_plugin_intermediate_in_the_trust_domain(
    mesh: PluginMesh,
) -> None:
    leaf, *intermediates = chain(mesh.thread, "shop", "echo")
    assert uri_sans(leaf) == ["spiffe://example.org/ns/shop/sa/echo"]
    assert intermediates == [mesh.intermediate]
    assert leaf.issuer == mesh.intermediate.subject
    assert leaf.not_valid_after_utc <= mesh.intermediate.not_valid_after_utc
    (rootca,) = rows(mesh.thread, "shop", "echo", "ROOTCA")
    assert rootca[4] == format(mesh.root.serial_number, "x")


def test_status_warns_about_the_intermediate_only(mesh: PluginMesh) -> None:
    said = sailctl(mesh.home, "status")
    warnings = [line for line in said.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, said
    assert "intermediate CA certificate" in warnings[0] and "CN=Plug-in CA" in warnings[0]
    assert "expires in" in warnings[0]
    status = json.loads(sailctl(mesh.home, "ca", "status", "-o", "json"))
    assert [c["role"] for c in status["signingChain"]] == ["intermediate", "root"]
    assert status["source"] == f"plug-in CA from {mesh.cacerts}"
    assert status["trustDomainAliases"] == ["old.example.org"]


def test_the_plugin_key_is_read_in_place(mesh: PluginMesh) -> None:
    assert not (mesh.home / "ca").exists()


def test_another_pods_envoy_is_refused_by_the_sds_socket(mesh: PluginMesh) -> None:
    echo, peer = pod_of(mesh.thread, "shop", "echo"), pod_of(mesh.thread, "shop", "peer")
    assert echo.sds_socket is not None
    assert probe(echo, echo.sds_socket, as_proxy=True).startswith("ANSWERED")
    assert probe(peer, echo.sds_socket, as_proxy=True).startswith("CLOSED")


def test_rotating_a_plugin_ca_needs_the_new_ca(mesh: PluginMesh) -> None:
    said = sailctl(mesh.home, "ca", "rotate-root", check=False)
    assert "--cacerts" in said and str(mesh.cacerts) in said


def test_a_new_trust_domain_reissues_every_certificate(mesh: PluginMesh) -> None:
    mesh.thread.apply(MESH_CONFIG % "new.example.org")
    for deployment, account in (("echo", "echo"), ("peer", "default")):
        wanted = [f"spiffe://new.example.org/ns/shop/sa/{account}"]
        wait_for(
            lambda d=deployment, w=wanted: uri_sans(chain(mesh.thread, "shop", d)[0]) == w,
            10,
            f"{deployment}'s certificate in the new trust domain",
        )
