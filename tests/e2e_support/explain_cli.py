"""Running ``sailctl explain`` against a test's mesh and picking one request's explanation."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from e2e_support.localmesh import LocalMeshThread


def explain(mesh: LocalMeshThread, *args: str) -> str:
    """``sailctl explain ARGS`` against ``mesh``: its output (it must succeed)."""
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "sailctl"), "explain", *args],
        env={**os.environ, "SAILMESH_HOME": str(mesh.mesh.home)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def explained_in(mesh: LocalMeshThread, path: str, outcome: str, *pod: str) -> str:
    """``sailctl explain --from-logs POD...``: the latest explanation of a request to ``path``
    whose first line shows ``outcome`` (``-> 503 UO``), once the proxy has logged it."""
    deadline = time.monotonic() + 10
    while True:
        output = explain(mesh, "--from-logs", *pod)
        for chunk in reversed(output.split("\n\n")):
            first = chunk.splitlines()[0]
            if f" {path} to " in first and outcome in first:
                return chunk
        assert time.monotonic() < deadline, f"no explanation for {path} {outcome} in:\n{output}"
        time.sleep(0.5)
