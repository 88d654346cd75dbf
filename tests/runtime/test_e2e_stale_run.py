"""A mesh killed with SIGKILL leaves its pods, namespaces, agent and files behind; the next
``sailctl down`` (or ``up``) finds the dead run through ``$SAILMESH_HOME/run/mesh.pid``, removes
everything of it and says so in one line. Shown for netns mode and, where it can run, userns."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from runtime_e2e import ROOT, SAILCTL, skip_unless_netns
from sandbox_helpers import leftovers
from test_e2e_namespaces import run, write_manifests

from sailmesh.runtime.sandbox.errors import ModeUnavailable
from sailmesh.runtime.sandbox.strategies import runtime_mode

pytestmark = pytest.mark.e2e

skip_unless_netns()


def _userns_unavailable() -> str | None:
    try:
        runtime_mode("userns")
    except ModeUnavailable as exc:  # pragma: no cover - depends on the machine
        return str(exc)
    return None


def start_and_kill(home: Path, mode: str) -> str:
    """``sailctl up --mode <mode>`` in a child, SIGKILLed (by pid) once its pods are ready;
    the run id."""
    manifests = write_manifests(home / "manifests", broken=False)
    out_path = home / "up.out"
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(
            [SAILCTL, "up", "--mode", mode, str(manifests)],
            env={**os.environ, "SAILMESH_HOME": str(home)},
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    try:
        deadline = time.monotonic() + 120
        while not (
            found := re.search(r"pods ready in .*\(run ([0-9a-f]+)\)", out_path.read_text())
        ):
            assert proc.poll() is None and time.monotonic() < deadline, out_path.read_text()
            time.sleep(0.2)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    run_id = found.group(1)
    assert leftovers(run_id), "the killed run should have left something to clean up"
    return run_id


@pytest.mark.parametrize("mode", ["netns", "userns"])
def test_down_cleans_up_a_run_killed_with_sigkill(tmp_path: Path, mode: str) -> None:
    if mode == "userns" and (why := _userns_unavailable()) is not None:
        pytest.skip(f"userns mode cannot run here: {why}")
    run_id = start_and_kill(tmp_path, mode)
    try:
        down = run(tmp_path, "down")
        out = down.stdout + down.stderr
        assert down.returncode == 0, out
        assert f"cleaned up a previous run {run_id} that did not stop" in out, out
        assert leftovers(run_id) == []
        assert not (tmp_path / "run" / "api.sock").exists()
        assert not (tmp_path / "run" / "mesh.pid").exists()
        assert "no mesh is running" in run(tmp_path, "down").stdout  # nothing left to clean
    finally:
        from sailmesh.runtime.sandbox import netns

        netns.cleanup(run_id)


def test_up_cleans_up_a_run_killed_with_sigkill(tmp_path: Path) -> None:
    run_id = start_and_kill(tmp_path, "netns")
    try:
        up = run(tmp_path, "up", "-d", "--mode", "netns", str(tmp_path / "manifests"))
        out = up.stdout + up.stderr
        assert up.returncode == 0, out
        assert f"cleaned up a previous run {run_id} that did not stop" in out, out
        assert leftovers(run_id) == []
    finally:
        run(tmp_path, "down")
        from sailmesh.runtime.sandbox import netns

        netns.cleanup(run_id)
