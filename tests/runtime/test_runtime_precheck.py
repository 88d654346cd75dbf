"""``sailctl x precheck`` on this machine: what it finds matches what the host has, and each
problem comes with its fix (a missing iptables, a taken port, a mesh already running)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from sailmesh.runtime.envoy import find_envoy
from sailmesh.runtime.precheck import check_envoy, check_home, check_ports, run_checks

SAILCTL = str(Path(sys.executable).parent / "sailctl")


def test_envoy_check_reports_the_binarys_own_version() -> None:
    out = subprocess.run([str(find_envoy()), "--version"], capture_output=True, text=True).stdout
    found = re.search(r"version: [0-9a-f]+/(\d+\.\d+\.\d+)/", out)
    assert found, out
    version = found.group(1)
    check = check_envoy()
    assert check.status == "ok" and f"Envoy {version} at {find_envoy()}" == check.detail


def test_taken_port_is_a_warning_with_its_fix() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        (taken,) = check_ports([port])
        assert taken.status == "warning" and f"127.0.0.1:{port} is taken" in taken.detail
        assert "sailctl status" in taken.fix
    (free,) = check_ports([port])
    assert free.status == "ok"


def test_running_mesh_in_home_is_reported(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "api.sock").touch()
    assert check_home(tmp_path, lambda sock: True).status == "warning"
    assert check_home(tmp_path, lambda sock: False).status == "ok"


def test_every_check_agrees_with_the_host(tmp_path: Path) -> None:
    checks = {c.name: c for c in run_checks(tmp_path, lambda sock: False, ports=())}
    assert checks["root"].status == ("ok" if os.geteuid() == 0 else "warning")
    assert (checks["prometheus"].status == "ok") == (shutil.which("prometheus") is not None)
    has_chromium = bool(shutil.which("chromium") or shutil.which("chromium-browser"))
    assert (checks["chromium"].status == "ok") == has_chromium
    if not has_chromium:
        assert checks["chromium"].fix == "apt-get install chromium"
    assert all(c.fix for c in checks.values() if c.status != "ok")


def test_cli_without_iptables_fails_and_says_how_to_fix(tmp_path: Path) -> None:
    """A PATH with the namespace tools but no iptables: as root that blocks netns mode."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("ip", "unshare", "setpriv", "nsenter"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    env = {**os.environ, "PATH": str(bin_dir), "SAILMESH_HOME": str(tmp_path / "home")}
    proc = subprocess.run(
        [SAILCTL, "x", "precheck", "--port", "1"], env=env, capture_output=True, text=True
    )
    out = proc.stdout + proc.stderr
    if os.geteuid() == 0:
        assert proc.returncode == 1, out
        assert "✘ iptables: iptables-restore not found" in out
    else:  # pragma: no cover - CI runs as root
        assert "! iptables: iptables-restore not found" in out
    assert "    fix: apt-get install iptables" in out
