"""End to end: pod sandboxes on a bridge, real Envoy sidecars, transparent capture, forwarders."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_helpers import (
    APP_SERVER,
    ENVOY,
    admin_get,
    can_connect,
    envoy_ready,
    sidecar_bootstrap,
    stat,
    wait_for,
    write_json,
)

from sailmesh.runtime.sandbox import netns
from sailmesh.runtime.sandbox.capture import dump_rules
from sailmesh.runtime.sandbox.forward import Forwarder, ForwarderThread
from sailmesh.runtime.sandbox.hosts import ServiceName
from sailmesh.runtime.sandbox.pod import PodSandbox, PodSpec

pytestmark = pytest.mark.e2e

REVIEWS = ServiceName("reviews", "default", "10.96.0.10")
CURL = ["curl", "-sS", "-m", "3", "--noproxy", "*"]


@pytest.fixture
def pods(run_names: netns.RunNames) -> Iterator[tuple[PodSandbox, PodSandbox]]:
    """Pod A (serves reviews on :9080) and pod B (the client), both captured."""
    a = PodSandbox(run_names, PodSpec("reviews-v1", index=0))
    b = PodSandbox(run_names, PodSpec("productpage", index=1))
    try:
        for pod in (a, b):
            pod.create([REVIEWS])
        a.spawn([sys.executable, "-c", APP_SERVER, "9080", "reviews-v1"])
        wait_for(lambda: can_connect(a.netns_file, "127.0.0.1", 9080), what="app in pod A")
        yield a, b
    finally:
        for pod in (a, b):
            pod.destroy()
        assert not netns.exists(a.ns) and not netns.exists(b.ns)


def start_sidecar(pod: PodSandbox, **bootstrap: object) -> tuple[Path, Path]:
    """Start Envoy as uid 1337 in the pod; return (admin socket, access log) once LIVE."""
    proxy_dir = pod.workdir / "proxy"
    admin, log = proxy_dir / "admin.sock", proxy_dir / "access.log"
    config = sidecar_bootstrap(admin_socket=admin, access_log=log, **bootstrap)  # type: ignore[arg-type]
    path = write_json(pod.workdir / "envoy.json", config)
    argv = [str(ENVOY), "-c", str(path), "--disable-hot-restart", "--concurrency", "1"]
    out = pod.workdir / "envoy.out"
    proc = pod.spawn([*argv, "-l", "warning"], as_proxy=True, stdout=out)
    try:
        wait_for(lambda: proc.poll() is not None or envoy_ready(admin), what="Envoy LIVE")
    finally:
        assert proc.poll() is None and envoy_ready(admin), out.read_text()[-3000:]
    return admin, log


def get_json(pod: PodSandbox, url: str) -> dict[str, str]:
    result = pod.run([*CURL, url])
    assert result.returncode == 0, result.stderr
    value: dict[str, str] = json.loads(result.stdout)
    return value


def test_pod_namespaces_have_ip_route_hosts_and_rules(
    pods: tuple[PodSandbox, PodSandbox],
) -> None:
    a, b = pods
    assert (a.ip, b.ip) == ("10.244.0.2", "10.244.0.3")
    assert "default via 10.244.0.1 dev eth0" in b.run(["ip", "route"]).stdout
    hosts = b.run(["cat", "/etc/hosts"]).stdout  # /etc/netns/<ns>/hosts mounted by ip netns exec
    assert "10.96.0.10\treviews reviews.default reviews.default.svc" in hosts
    assert b.run(["getent", "hosts", "reviews.default.svc.cluster.local"]).stdout.startswith(
        "10.96.0.10"
    )
    assert b.run(["id", "-u"]).stdout.strip() == "65534"
    assert b.run(["id", "-u"], as_proxy=True).stdout.strip() == "1337"
    assert "-j REDIRECT --to-ports 15001" in dump_rules(b.ns)
    # B's proxy uid is not captured outbound, but A captures inbound: with no sidecar on
    # A's :15006 the connection is refused instead of reaching the app on :9080.
    direct = b.run([*CURL, f"http://{a.ip}:9080/"], as_proxy=True)
    assert direct.returncode == 7 and "refused" not in direct.stdout


def test_outbound_and_inbound_capture_through_real_envoy(
    pods: tuple[PodSandbox, PodSandbox],
) -> None:
    a, b = pods
    # Before any sidecar listens, the app's connection to the VIP is redirected to the local
    # :15001 and refused at once (curl exit 7); the proxy uid's is not redirected: the VIP
    # exists nowhere, so it times out (curl exit 28).
    assert b.run([*CURL, "http://reviews:9080/"]).returncode == 7
    uncaptured = [*CURL, "--connect-timeout", "0.3", "http://reviews:9080/"]
    assert b.run(uncaptured, as_proxy=True).returncode == 28

    admin_a, log_a = start_sidecar(
        a,
        listener_name="virtualInbound",
        port=15006,
        cluster="inbound|9080||",
        upstream=("127.0.0.1", 9080),
        source_address="127.0.0.6",
    )
    admin_b, log_b = start_sidecar(
        b,
        listener_name="virtualOutbound",
        port=15001,
        cluster="outbound|9080||reviews.default.svc.cluster.local",
        upstream=(str(a.ip), 9080),
    )
    body = get_json(b, "http://reviews:9080/")  # the app uid, no proxy settings
    assert body == {"pod": "reviews-v1", "client": "127.0.0.6"}

    # Outbound: exactly one connection captured by B's sidecar, which saw the VIP as the
    # original destination; its own upstream connection was not re-captured (no loop).
    assert stat(admin_b, "listener.0.0.0.0_15001.downstream_cx_total") == 1
    assert "upstream_cx_total: 1" in admin_get(admin_b, "/stats?filter=outbound.9080")
    wait_for(lambda: log_b.exists() and log_b.read_text() != "", what="B access log")
    line_b = log_b.read_text()
    assert f"remote={b.ip}:" in line_b and "local=10.96.0.10:9080" in line_b
    assert f"upstream={a.ip}:9080" in line_b
    # Inbound: B's sidecar → A:9080 was redirected to A's :15006; the app saw 127.0.0.6.
    assert stat(admin_a, "listener.0.0.0.0_15006.downstream_cx_total") == 1
    wait_for(lambda: log_a.exists() and log_a.read_text() != "", what="A access log")
    line_a = log_a.read_text()
    assert f"remote={b.ip}:" in line_a and f"local={a.ip}:9080" in line_a
    assert "upstream_local=127.0.0.6:" in line_a


def test_forwarder_from_host_loopback_into_pods(pods: tuple[PodSandbox, PodSandbox]) -> None:
    a, _ = pods
    into_pod = ForwarderThread(Forwarder(a.netns_file, "127.0.0.1", 9080))
    # From the node namespace the connection arrives on A's eth0 like real traffic, so A's
    # inbound capture applies: with no sidecar on :15006 it is refused (capture, not bypass).
    via_node = ForwarderThread(
        Forwarder(netns.netns_path(a.names.node_ns), str(a.ip), 9080, listen_port=0)
    )
    try:
        port = into_pod.start()
        assert port > 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=3) as response:
            assert json.loads(response.read()) == {"pod": "reviews-v1", "client": "127.0.0.1"}
        node_port = via_node.start()
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{node_port}/", timeout=3)
    finally:
        into_pod.stop()
        via_node.stop()


def test_hosts_file_edited_in_place_reaches_running_processes(
    pods: tuple[PodSandbox, PodSandbox],
) -> None:
    _, b = pods
    reader = "import sys\nprint(open('/etc/hosts').read(), flush=True)\nsys.stdin.readline()\n"
    reader += "print(open('/etc/hosts').read(), flush=True)\n"
    proc = subprocess.Popen(
        b.command([sys.executable, "-c", reader]),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        before = "".join(iter(proc.stdout.readline, "\n"))
        assert "ratings" not in before
        b.update_hosts([REVIEWS, ServiceName("ratings", "bookinfo", "10.96.0.11")])
        out, _ = proc.communicate("go\n", timeout=5)
        assert "10.96.0.11\tratings.bookinfo ratings.bookinfo.svc" in out
        assert "\tratings " not in out  # another namespace: no short name
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_pods_of_one_name_in_two_namespaces_both_get_a_sandbox(run_names: netns.RunNames) -> None:
    """`client` in namespaces `mesh` and `legacy`: two namespaces, two IPs, two hosts files."""
    pods = [
        PodSandbox(run_names, PodSpec("client-1a2b-0", namespace=ns, index=i))
        for i, ns in enumerate(("mesh", "legacy"))
    ]
    try:
        for pod in pods:
            pod.create([REVIEWS])
        assert {pod.ip for pod in pods} == {"10.244.0.2", "10.244.0.3"}
        assert len({pod.ns for pod in pods}) == 2 and all(netns.exists(pod.ns) for pod in pods)
        for pod in pods:  # each namespace holds its own pod's address, and only that
            shown = netns.run(["ip", "-n", pod.ns, "-4", "-o", "addr", "show", "eth0"])
            assert shown.count(" inet ") == 1 and f" {pod.ip}/" in shown, shown
    finally:
        for pod in pods:
            pod.destroy()
