"""Two namespaces as a new user writes them: ``mesh`` (``istio-injection: enabled``) and
``legacy`` (``disabled``), each with a Deployment ``client`` and one ``fast``; ``legacy`` also
holds ``broken``, whose command does not exist. Shown: same-named Deployments get their own
pods; the broken pod is reported (``up -d`` exits non-zero, one line with the reason; ``status``
says ``Failed``) while every other pod starts; ``exec``/``logs``/``status`` take ``-n``; a name
missing from the given namespace is an error naming where it exists; ``down`` leaves nothing."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_e2e import ROOT, SAILCTL, skip_unless_netns
from sandbox_helpers import leftovers

pytestmark = pytest.mark.e2e

skip_unless_netns()

NAMESPACE = """apiVersion: v1
kind: Namespace
metadata:
  name: {ns}
  labels:
    istio-injection: {injection}
"""
DEPLOYMENT = """---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
spec:
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: {name}
        image: {name}
        command: {command}
"""
SLEEP = '["sleep", "3600"]'
SERVE = '["python3", "-c", "import os, sys; print(os.environ[\'POD_NAMESPACE\'], flush=True); import time; time.sleep(3600)"]'


def write_manifests(directory: Path, broken: bool = True) -> Path:
    """The two namespaces (and, with ``broken``, a Deployment whose command does not exist)."""
    directory.mkdir(parents=True, exist_ok=True)
    for ns, injection in (("mesh", "enabled"), ("legacy", "disabled")):
        text = NAMESPACE.format(ns=ns, injection=injection)
        text += DEPLOYMENT.format(name="client", ns=ns, command=SLEEP)
        text += DEPLOYMENT.format(name="fast", ns=ns, command=SERVE)
        if broken and ns == "legacy":
            text += DEPLOYMENT.format(name="broken", ns=ns, command='["no-such-command-x1"]')
        (directory / f"{ns}.yaml").write_text(text)
    return directory


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``sailctl args`` with ``SAILMESH_HOME=home``; not checked."""
    env = {**os.environ, "SAILMESH_HOME": str(home)}
    return subprocess.run(
        [SAILCTL, *args], env=env, capture_output=True, text=True, timeout=180, cwd=ROOT
    )


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str]]:
    home = tmp_path_factory.mktemp("ns-home")
    manifests = write_manifests(home / "manifests")
    up = run(home, "up", "-d", str(manifests))
    out = up.stdout + up.stderr
    run_id = re.search(r"\(run ([0-9a-f]+)\)", out)
    try:
        assert run_id, out
        yield home, run_id.group(1), f"exit {up.returncode}\n{out}"
    finally:
        print(run(home, "down").stdout)
        if run_id:
            assert leftovers(run_id.group(1)) == []


def test_up_reports_the_failed_pod_and_exits_non_zero(mesh: tuple[Path, str, str]) -> None:
    _, _, out = mesh
    assert out.startswith("exit 1\n"), out
    assert "✘ 1 of 5 pods not ready" in out, out
    assert re.search(r"legacy/broken-\S+: .*no-such-command-x1.*not found", out), out
    assert "Traceback" not in out, out


def test_status_shows_the_failed_pod_and_the_others_running(mesh: tuple[Path, str, str]) -> None:
    home, _, _ = mesh
    out = run(home, "status").stdout
    rows = {tuple(line.split()[:2]): line for line in out.splitlines() if "-" in line}
    names = {(ns, name.rsplit("-", 2)[0]) for ns, name in rows}
    expected = {(ns, d) for ns in ("mesh", "legacy") for d in ("client", "fast")}
    assert expected | {("legacy", "broken")} <= names, out
    for (ns, name), line in rows.items():
        if name.startswith("broken-"):
            assert "Failed" in line and "no-such-command-x1" in line, out
        elif ns in ("mesh", "legacy"):
            assert "Running" in line, out


def test_status_of_one_namespace(mesh: tuple[Path, str, str]) -> None:
    home, _, _ = mesh
    out = run(home, "status", "-n", "mesh").stdout
    assert "mesh" in out and "legacy" not in out, out
    everything = run(home, "status", "-A").stdout
    assert "mesh" in everything and "legacy" in everything


def test_exec_and_logs_take_a_namespace(mesh: tuple[Path, str, str]) -> None:
    home, _, _ = mesh
    for ns in ("mesh", "legacy"):
        proc = run(home, "exec", "-n", ns, "deploy/client", "--", "printenv", "POD_NAMESPACE")
        assert proc.returncode == 0 and proc.stdout.strip() == ns, proc.stdout + proc.stderr
        logs = run(home, "logs", "-n", ns, "deploy/fast")
        assert logs.returncode == 0 and logs.stdout.strip() == ns, logs.stdout + logs.stderr
    other = run(home, "exec", "legacy/" + pod_name(home, "legacy", "client"), "--", "true")
    assert other.returncode == 0, other.stderr


def test_a_name_missing_from_the_namespace_says_where_it_exists(
    mesh: tuple[Path, str, str],
) -> None:
    home, _, _ = mesh
    proc = run(home, "exec", "deploy/client", "--", "true")
    assert proc.returncode != 0
    message = proc.stderr.strip()
    assert "deployment 'client' not found in namespace 'default'" in message, message
    assert "legacy, mesh" in message and len(message.splitlines()) == 1, message
    logs = run(home, "logs", "-n", "nowhere", "deploy/fast")
    assert logs.returncode != 0 and "legacy, mesh" in logs.stderr, logs.stderr


def pod_name(home: Path, ns: str, deployment: str) -> str:
    out = run(home, "status", "-n", ns).stdout
    return next(
        line.split()[1]
        for line in out.splitlines()
        if line.startswith(ns) and line.split()[1].startswith(f"{deployment}-")
    )
