"""End to end on the local mesh (netns mode): meshConfig defaults of clusters and visibility,
on real traffic through real sidecars.

One mesh is shared by the module, with ``enableAutoMtls: false``, ``connectTimeout: 1s``,
``tcpKeepalive`` (time 30s), ``h2UpgradePolicy: UPGRADE``,
``defaultVirtualServiceExportTo: ["."]``, ``defaultDestinationRuleExportTo: ["."]`` and
``defaultServiceExportTo: [".", "other"]``; namespaces ``mesh``, ``other`` and ``third``
(sidecars), each with a server ``srv`` and a client ``cli`` (:mod:`e2e_support.mtls_mesh`).
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Iterator

import pytest
from runtime_e2e import assert_nothing_left, skip_unless_netns

from e2e_support.localmesh import LocalMeshThread
from e2e_support.mtls_mesh import (
    LOG_FORMAT,
    SyncedMesh,
    call,
    identity,
    log_line,
    namespace,
    pod_of,
    stats,
)
from e2e_support.mtls_mesh import synced as wait_synced
from e2e_support.proxy import wait_for
from sailmesh.runtime.local import RunningPod
from sailmesh.runtime.proxy import config_dump

pytestmark = pytest.mark.e2e

skip_unless_netns()

MESH_CONFIG = f"""
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {{name: mesh, namespace: istio-system}}
spec:
  meshConfig:
    accessLogFormat: "{LOG_FORMAT} proto=%PROTOCOL%\\n"
    enableAutoMtls: false
    connectTimeout: 1s
    tcpKeepalive: {{time: 30s, interval: 5s, probes: 3}}
    h2UpgradePolicy: UPGRADE
    defaultVirtualServiceExportTo: ["."]
    defaultDestinationRuleExportTo: ["."]
    defaultServiceExportTo: [".", other]
"""
SRV = "srv.mesh.svc.cluster.local"
STRICT = """
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: strict, namespace: mesh}
spec: {mtls: {mode: STRICT}}
"""
ISTIO_MUTUAL = f"""
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: srv, namespace: mesh}}
spec:
  host: {SRV}
  trafficPolicy: {{tls: {{mode: ISTIO_MUTUAL}}}}
"""
BLACKHOLE_VIP = "240.0.0.20"


def _virtual_service(export: str = "") -> str:
    """srv's routes with ``/teapot`` answered 418 by the sidecar; ``export``: its exportTo."""
    export_line = f"  exportTo: {export}\n" if export else ""
    return f"""
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: srv, namespace: mesh}}
spec:
  hosts: [{SRV}]
{export_line}  http:
  - match: [{{uri: {{prefix: /teapot}}}}]
    fault: {{abort: {{httpStatus: 418, percentage: {{value: 100}}}}}}
    route: [{{destination: {{host: {SRV}}}}}]
  - route: [{{destination: {{host: {SRV}}}}}]
"""


def _unroutable(mesh: LocalMeshThread) -> str:
    """An address of the run's pod subnet no pod holds (nobody answers its ARP requests)."""
    pod = pod_of(mesh, "mesh", "srv")
    network = ipaddress.IPv4Network(f"{pod.ip}/24", strict=False)
    return str(network.broadcast_address - 5)


def _blackhole(address: str) -> str:
    """A service whose one endpoint never answers, called without retries."""
    return f"""
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: blackhole, namespace: mesh}}
spec:
  hosts: [blackhole.test]
  addresses: [{BLACKHOLE_VIP}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{{number: 80, name: http, protocol: HTTP}}]
  endpoints: [{{address: {address}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: blackhole, namespace: mesh}}
spec:
  hosts: [blackhole.test]
  http: [{{route: [{{destination: {{host: blackhole.test}}}}], retries: {{attempts: 0}}}}]
"""


class World(SyncedMesh):
    def pod(self, namespace_: str, deployment: str) -> RunningPod:
        return pod_of(self.mesh, namespace_, deployment)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("sailmesh-home")
    manifests = home / "manifests"
    manifests.mkdir()
    (manifests / "mesh.yaml").write_text(namespace("mesh", "enabled"))
    (manifests / "other.yaml").write_text(namespace("other", "enabled"))
    (manifests / "third.yaml").write_text(namespace("third", "enabled"))
    (manifests / "config.yaml").write_text(MESH_CONFIG)
    m = LocalMeshThread(home)
    run_id = m.mesh.names.run_id
    try:
        m.start([str(manifests)])
        wait_synced(m)
        yield World(m)
    finally:
        m.close()
        assert_nothing_left(run_id)


def _server_line(world: World, path: str) -> str:
    server = world.pod("mesh", "srv")
    found: list[str] = []

    def logged() -> bool:
        line = log_line(server, path)
        found[:] = [line] if line else []
        return bool(found)

    wait_for(logged, 5, f"the server's log line of {path}")
    return found[0]


def test_without_auto_mtls_clients_send_plaintext_and_strict_needs_istio_mutual(
    world: World,
) -> None:
    """First test of the module: no connection from the client to the server exists yet (a
    connection accepted before STRICT would live on while the old filter chain drains)."""
    client = world.pod("mesh", "cli")
    world.apply(STRICT)
    try:
        status, _ = call(client, f"http://{SRV}/strict-plain")
        assert status in (0, 503), status  # the STRICT server refuses the plaintext
        world.apply(ISTIO_MUTUAL)
        status, body = call(client, f"http://{SRV}/strict-mutual")
        assert status == 200, body
        line = _server_line(world, "/strict-mutual")
        assert f"peer={identity('mesh', 'cli')}" in line and "tls=TLSv1.3" in line, line
    finally:
        world.delete(ISTIO_MUTUAL)
        world.delete(STRICT)
    assert call(client, f"http://{SRV}/plain")[0] == 200
    line = _server_line(world, "/plain")
    assert "peer=- tls=-" in line, line  # Istio's default (auto mTLS) would be mutual TLS


def test_connect_timeout_bounds_connections_to_an_endpoint_that_never_answers(
    world: World,
) -> None:
    client = world.pod("mesh", "cli")
    world.apply(_blackhole(_unroutable(world.mesh)))
    try:
        cluster = "outbound|80||blackhole.test"
        dump = config_dump(client.sandbox.netns_file)
        timeouts = {
            entry["cluster"]["name"]: entry["cluster"].get("connect_timeout")
            for section in dump["configs"]
            for entry in section.get("dynamic_active_clusters", [])
        }
        assert timeouts[cluster] == "1s" and timeouts[f"outbound|80||{SRV}"] == "1s", timeouts
        started = time.monotonic()
        status, body = call(client, "http://blackhole.test/", resolve=BLACKHOLE_VIP)
        elapsed = time.monotonic() - started
        assert status == 503, body
        # 1s connect timeout (+ the client's start-up); Envoy's/Istio's default would be 10s,
        # and an ARP failure would surface as EHOSTUNREACH only after ~3s
        assert 0.9 <= elapsed < 2.8, elapsed
        found = stats(client, re.escape(f"cluster.{cluster}.upstream_cx_connect_timeout"))
        assert found[f"cluster.{cluster}.upstream_cx_connect_timeout"] == 1, found
    finally:
        world.delete(_blackhole("10.0.0.1"))


def test_virtual_services_without_export_to_stay_in_their_namespace(world: World) -> None:
    mine, theirs = world.pod("mesh", "cli"), world.pod("other", "cli")
    world.apply(_virtual_service())
    try:
        wait_for(lambda: call(mine, f"http://{SRV}/teapot")[0] == 418, 10, "the local fault")
        assert call(theirs, f"http://{SRV}/teapot")[0] == 200  # not visible in other
        world.apply(_virtual_service('["*"]'))
        wait_for(lambda: call(theirs, f"http://{SRV}/teapot")[0] == 418, 10, "the export")
    finally:
        world.delete(_virtual_service())


def _mutual_on_90(export: str = "") -> str:
    """A DestinationRule for srv's port 90 (no other test calls it: no pooled plaintext
    connection outlives STRICT) with ISTIO_MUTUAL; ``export``: its exportTo."""
    export_line = f"  exportTo: {export}\n" if export else ""
    return f"""
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: srv-90, namespace: mesh}}
spec:
  host: {SRV}
{export_line}  trafficPolicy:
    portLevelSettings: [{{port: {{number: 90}}, tls: {{mode: ISTIO_MUTUAL}}}}]
"""


def test_destination_rules_without_export_to_stay_in_their_namespace(world: World) -> None:
    mine, theirs = world.pod("mesh", "cli"), world.pod("other", "cli")
    url = f"http://{SRV}:90/rule"
    world.apply(STRICT)
    world.apply(_mutual_on_90())
    try:
        assert call(mine, url)[0] == 200  # the rule (mutual TLS) is visible in its namespace
        status, _ = call(theirs, url)
        assert status in (0, 503), status  # not in other: plaintext, refused by STRICT
        world.apply(_mutual_on_90('["*"]'))
        wait_for(lambda: call(theirs, url)[0] == 200, 10, "the exported rule")
    finally:
        world.delete(_mutual_on_90())
        world.delete(STRICT)


def _clusters(pod: RunningPod) -> set[str]:
    dump = config_dump(pod.sandbox.netns_file)
    return {
        entry["cluster"]["name"]
        for section in dump["configs"]
        for entry in section.get("dynamic_active_clusters", [])
    }


def test_services_without_export_to_follow_the_mesh_default(world: World) -> None:
    """``defaultServiceExportTo: [".", other]``: srv.mesh reaches mesh and other, not third."""
    cluster = f"outbound|80||{SRV}"
    assert cluster in _clusters(world.pod("other", "cli"))
    assert cluster not in _clusters(world.pod("third", "cli"))
    assert "outbound|80||srv.third.svc.cluster.local" in _clusters(world.pod("third", "cli"))
    assert call(world.pod("other", "cli"), f"http://{SRV}/exported")[0] == 200
    assert call(world.pod("third", "cli"), f"http://{SRV}/exported")[0] != 200
    assert call(world.pod("third", "cli"), "http://srv.third.svc.cluster.local/own")[0] == 200


PUBLIC = """
apiVersion: v1
kind: Service
metadata:
  name: srv-public
  namespace: mesh
  annotations: {networking.istio.io/exportTo: "*"}
spec:
  selector: {app: srv}
  ports: [{name: http, port: 80, targetPort: 8080}]
"""


def test_a_services_export_to_annotation_beats_the_mesh_default(world: World) -> None:
    third = world.pod("third", "cli")
    url = "http://srv-public.mesh.svc.cluster.local/public"
    world.apply(PUBLIC)
    try:
        wait_for(lambda: call(third, url)[0] == 200, 10, "the exported Service")
        assert "outbound|80||srv-public.mesh.svc.cluster.local" in _clusters(third)
    finally:
        world.delete(PUBLIC)


def _keepalive_timers(client: RunningPod, server_ip: str) -> list[int]:
    """Seconds left on the keepalive timers of the client pod's connections to the server."""
    out = client.sandbox.run(["ss", "-tnoH", "state", "established"], env={"PATH": "/usr/bin:/bin"})
    timers = []
    for line in out.stdout.splitlines():
        if f"{server_ip}:8080" in line:
            found = re.search(r"timer:\(keepalive,(?:(\d+)min)?(\d+)(?:\.\d+)?(m?s)", line)
            if found:
                minutes, value, unit = found.groups()
                seconds = int(value) if unit == "sec" or unit == "s" else 0
                timers.append(int(minutes or 0) * 60 + seconds)
    return timers


def test_h2_upgrade_and_tcp_keepalive_on_the_upstream_connection(world: World) -> None:
    client, server = world.pod("mesh", "cli"), world.pod("mesh", "srv")
    status, body = call(client, f"http://{SRV}/upgraded")
    assert status == 200, body
    line = _server_line(world, "/upgraded")
    assert "proto=HTTP/2" in line, line  # the app spoke HTTP/1.1; the sidecar upgraded
    timers = _keepalive_timers(client, server.ip)
    assert timers and all(0 < t <= 30 for t in timers), timers  # Linux default: 7200s
