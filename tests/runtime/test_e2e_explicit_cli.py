"""sailctl against a real explicit-mode mesh: ``demo --mode explicit -d`` prints the mode and
its limits, productpage answers through the gateway on 127.0.0.1, status, proxy-config and exec
work without namespaces, ``down`` leaves nothing behind."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_e2e import sailctl, skip_without_envoy

from sailmesh.runtime.sandbox import netns

pytestmark = pytest.mark.e2e

skip_without_envoy()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int, str, str]]:
    home = tmp_path_factory.mktemp("explicit-home")
    out = sailctl(home, "demo", "--mode", "explicit", "-d")
    run_id = re.search(r"\(run ([0-9a-f]+)\)", out)
    port = re.search(r"port 8080 -> http://127\.0\.0\.1:(\d+)/", out)
    assert run_id and port, out
    try:
        yield home, int(port.group(1)), run_id.group(1), out
    finally:
        print(sailctl(home, "down", check=False))
        names = netns.RunNames(run_id.group(1))
        assert not (home / "run" / "api.sock").exists()
        assert not names.workdir.exists()
        ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        assert f"{names.prefix}work" not in ps


def test_demo_says_which_mode_and_its_limits(demo: tuple[Path, int, str, str]) -> None:
    _, _, _, out = demo
    assert "sandbox mode: explicit" in out
    assert "limit: HTTP only" in out and "$PORT" in out
    assert "limit: no workload identity" in out  # explicit mode: SDS stays off, and says so


def test_productpage_through_the_gateway(demo: tuple[Path, int, str, str]) -> None:
    _, port, _, _ = demo
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/productpage", timeout=10) as resp:
        body = resp.read().decode()
    assert resp.status == 200 and "The Comedy of Errors" in body
    assert "Error fetching product details" not in body


def test_status_proxy_config_and_exec(demo: tuple[Path, int, str, str]) -> None:
    home, _, _, _ = demo
    out = sailctl(home, "status")
    rows = [line for line in out.splitlines() if "productpage-v1" in line]
    assert rows and "2/2" in rows[0] and "127.0.0.1" in rows[0] and "SYNCED" in rows[0], out
    routes = sailctl(home, "proxy-config", "routes", "deploy/productpage-v1")
    assert "http_proxy" in routes and "reviews.default.svc.cluster.local:9080" in routes
    code = "import urllib.request; print(urllib.request.urlopen('http://details:9080/details/0').read().decode())"
    body = sailctl(home, "exec", "deploy/productpage-v1", "--", "python3", "-c", code)
    assert json.loads(body)["id"] == 0
    log = sailctl(home, "logs", "deploy/productpage-v1", "-c", "istio-proxy")
    assert "outbound|9080||details.default.svc.cluster.local" in log
