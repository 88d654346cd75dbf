"""userns mode end to end: bookinfo in an unprivileged user namespace, with real Envoys.

The runtime is forced into userns mode (``LocalMesh(home, "userns")``). Run as root (CI), the
namespace agent and every pod process run as ``nobody``: the namespaces, links and nftables
rules are made without any privilege on the host. Shown here: an app dialing a service name is
captured by its sidecar and served through the server's sidecar; Envoy's own (SO_MARK-ed)
connections take the exemption rule instead of being captured again; bookinfo through the
gateway's 127.0.0.1 forwarder shows the stars each VirtualService asks for; nothing is left.
Skipped, with the reason, where the machine does not allow userns mode.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import site
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_e2e import BOOKINFO, DEMO_PATHS, NETWORKING, ROOT

from e2e_support.bookinfo import (
    apply_sample,
    assert_seen_by_both_sidecars,
    call_reviews_from_productpage,
    converge,
    login,
    page,
    pod,
    stars,
)
from e2e_support.localmesh import LocalMeshThread
from e2e_support.proxy import wait_for
from sailmesh.app.local import LocalMesh
from sailmesh.runtime.host import runtime_mode
from sailmesh.runtime.sandbox import netns
from sailmesh.runtime.sandbox.errors import ModeUnavailable
from sailmesh.runtime.sandbox.modes import Mode
from sailmesh.runtime.sandbox.userns import NOBODY, SYSTEM_PYTHON, agent_identity

pytestmark = pytest.mark.e2e


def _unavailable() -> str | None:
    try:
        runtime_mode("userns")
    except ModeUnavailable as exc:
        return str(exc)
    return None


WHY = _unavailable()
if WHY is not None:  # pragma: no cover - depends on the machine
    pytest.skip(f"userns mode cannot run here: {WHY}", allow_module_level=True)


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMeshThread]:
    home = tmp_path_factory.mktemp("sailmesh-home")
    m = LocalMeshThread(home)
    m.mesh = LocalMesh(home, "userns")
    run_id = m.mesh.names.run_id
    agent_pid: int | None = None
    try:
        m.start(DEMO_PATHS)
        assert m.mesh.node is not None
        agent_pid = m.mesh.node.pid
        yield m
    finally:
        m.close()
        assert_nothing_left(run_id, agent_pid)


def assert_nothing_left(run_id: str, agent_pid: int | None) -> None:
    names = netns.RunNames(run_id)
    if agent_pid is not None:
        wait_for(lambda: not Path(f"/proc/{agent_pid}").exists(), 5, "the agent to exit")
    ps = subprocess.run(
        ["ps", "-eo", "pid,args"], capture_output=True, text=True, check=True
    ).stdout
    assert str(names.workdir) not in ps, "processes of the run still running"
    assert not names.workdir.exists(), "work directory left behind"
    assert netns.list_netns(names.prefix) == [], "host network namespaces were created"
    assert netns.mounts_with(names.prefix) == [], "host mounts were created"
    assert not Path(f"/etc/netns/{names.prefix}").exists()


# The whole runtime (control plane, agent, pods, forwarder) as an unprivileged user, with the
# mode picked automatically (netns needs root, so userns). Prints a JSON report.
UNPRIVILEGED_RUN = """
import asyncio, http.client, json, os, sys
from pathlib import Path
from sailmesh.config.load import load_paths
from sailmesh.app.local import LocalMesh

def get(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/productpage")
    resp = conn.getresponse()
    body = resp.read().decode()
    return resp.status, "red" if "color:red" in body else "black" if "color:black" in body else "none"

async def main():
    mesh = LocalMesh(Path(sys.argv[1]))
    out = {"uid": os.getuid(), "mode": mesh.mode.value, "run": mesh.names.run_id}
    try:
        loaded = load_paths(sys.argv[2:])
        assert loaded.ok, loaded.problems
        await mesh.start(loaded.resources)
        out["agent"] = mesh.node.pid
        port = next(g.local_port for _, g in mesh.forwarders.values() if g.port == 8080)
        out["pages"] = [await asyncio.to_thread(get, port) for _ in range(10)]
    finally:
        await mesh.stop()
    print(json.dumps(out))

asyncio.run(main())
"""


def unprivileged_argv(tmp: Path) -> list[str]:
    """The command running UNPRIVILEGED_RUN as nobody (we are root) with the system Python
    and the venv's packages, or skip saying why that cannot work here."""
    if os.geteuid() != 0:
        pytest.skip("already unprivileged: the module's mesh runs as this user")
    if not SYSTEM_PYTHON.exists() or shutil.which("setpriv") is None:
        pytest.skip("needs /usr/bin/python3 and setpriv to run the runtime as nobody")
    packages = ":".join([*site.getsitepackages(), str(ROOT / "src")])
    drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]
    env = ["env", f"PYTHONPATH={packages}", f"HOME={tmp}", f"SAILMESH_HOME={tmp}"]
    check = [*drop, *env, str(SYSTEM_PYTHON), "-c", "import sailmesh.app.local, grpc"]
    proc = subprocess.run(check, capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        pytest.skip(f"the system Python cannot import the runtime as nobody: {tail}")
    script = tmp / "run.py"
    script.write_text(UNPRIVILEGED_RUN)
    os.chmod(script, 0o644)
    return [*drop, *env, str(SYSTEM_PYTHON), str(script), str(tmp / "home")]


@pytest.fixture
def nobody_dir() -> Iterator[Path]:
    """A scratch directory nobody owns (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="sailmesh-userns-"))
    try:
        if os.geteuid() == 0:
            os.chown(path, NOBODY, NOBODY)
        os.chmod(path, 0o755)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_whole_runtime_as_nobody_picks_userns_and_serves_bookinfo(nobody_dir: Path) -> None:
    argv = unprivileged_argv(nobody_dir)
    manifests = [
        str(BOOKINFO / "platform"),
        str(NETWORKING / "bookinfo-gateway.yaml"),
        str(NETWORKING / "destination-rule-all.yaml"),
        str(NETWORKING / "virtual-service-reviews-v3.yaml"),
    ]
    proc = subprocess.run(
        [*argv, *manifests], capture_output=True, text=True, timeout=180, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["uid"] == NOBODY and report["mode"] == "userns"
    assert report["pages"] == [[200, "red"]] * 10
    assert_nothing_left(report["run"], report["agent"])


def uid_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^Uid:\s+(\d+)", status, re.M)
    assert match is not None
    return int(match.group(1))


def mark_return_packets(mesh: LocalMeshThread, ref: str) -> int:
    """Packets that took the 'marked by the proxy → RETURN' rule in a pod (nat: 1 per conn)."""
    node = mesh.mesh.node
    assert node is not None
    save = node.run(["iptables-nft-save", "-c", "-t", "nat"], pod(mesh, ref).sandbox.ns)
    rule = re.compile(r"^\[(\d+):\d+\] -A ISTIO_OUTPUT -m mark --mark 0x539 -j RETURN$", re.M)
    match = rule.search(save)
    assert match is not None, save
    return int(match.group(1))


def test_runs_in_userns_mode_as_an_unprivileged_user(mesh: LocalMeshThread) -> None:
    assert mesh.mesh.mode is Mode.USERNS
    assert mesh.mesh.status()["mode"] == "userns"
    node = mesh.mesh.node
    assert node is not None and node.pid is not None
    uid, _ = agent_identity()
    assert uid_of(node.pid) == uid
    if os.geteuid() == 0:
        assert uid == NOBODY, "under root, the namespaces are made as nobody"
    proxy = pod(mesh, "deploy/productpage-v1").supervisor.status().container("istio-proxy")
    assert proxy.pid is not None and uid_of(proxy.pid) == uid
    # The pod namespaces exist only inside the agent's mount namespace.
    assert netns.list_netns(mesh.mesh.names.prefix) == []
    assert (node.netns_dir / pod(mesh, "deploy/productpage-v1").sandbox.ns).exists()
    # Inside its namespace the pod is root with the mark variant of the capture rules.
    rules = node.dump_rules(pod(mesh, "deploy/reviews-v1").sandbox.ns)
    assert "-m mark --mark 0x539 -j RETURN" in rules and "owner" not in rules


def test_app_dialing_a_service_name_is_captured_and_envoy_is_not(mesh: LocalMeshThread) -> None:
    marked_before = mark_return_packets(mesh, "deploy/productpage-v1")
    # No proxy settings: only PATH. The connection is captured by the nftables rules.
    assert_seen_by_both_sidecars(mesh, call_reviews_from_productpage(mesh))
    # Envoy's connection to the reviews pod left through the SO_MARK exemption.
    assert mark_return_packets(mesh, "deploy/productpage-v1") > marked_before


def test_admin_api_is_reached_through_the_agent(mesh: LocalMeshThread) -> None:
    body = mesh.mesh.runtime_call("admin", {"pod": "deploy/ratings-v1", "path": "/ready"})
    assert body == {"status": 200, "body": "LIVE\n"}


def test_gateway_routes_per_virtual_service(mesh: LocalMeshThread) -> None:
    port = mesh.gateway_port(8080)
    apply_sample(mesh, "virtual-service-all-v1.yaml")
    wait_for(lambda: all(stars(page(port)) == "none" for _ in range(10)), 20, "all-v1 routing")
    assert [stars(page(port)) for _ in range(30)] == ["none"] * 30

    apply_sample(mesh, "virtual-service-reviews-test-v2.yaml")
    jason = login(port, "jason")
    converge(port, "black", cookie=jason)
    assert [stars(page(port, jason)) for _ in range(20)] == ["black"] * 20
    assert [stars(page(port)) for _ in range(20)] == ["none"] * 20

    apply_sample(mesh, "virtual-service-reviews-v3.yaml")
    converge(port, "red")
    assert [stars(page(port)) for _ in range(30)] == ["red"] * 30
