"""The ``userns`` capture rules (SO_MARK instead of owner match), applied for real inside an
unprivileged user + network namespace, as an unprivileged user."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sailmesh.runtime.sandbox.capture import render_rules

pytestmark = pytest.mark.e2e

PROBE = Path(__file__).with_name("userns_capture_probe.py")
NOBODY = 65534


def as_unprivileged(argv: list[str]) -> list[str]:
    """Run ``argv`` as nobody when we are root (user namespaces are about non-root users)."""
    if os.geteuid() != 0:
        return argv
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--", *argv]


UNSHARE = ["unshare", "--user", "--map-root-user", "--net"]


def unprivileged_python() -> str:
    """A Python the unprivileged user can run inside the user namespace (the probe is stdlib
    only; the venv's interpreter may live under a directory that user cannot enter)."""
    for candidate in ("/usr/bin/python3", sys.executable):
        check = as_unprivileged([*UNSHARE, candidate, "-c", "pass"])
        if subprocess.run(check, capture_output=True, check=False).returncode == 0:
            return candidate
    pytest.skip("no Python interpreter is executable by an unprivileged user here")


def require_userns() -> None:
    missing = [t for t in ("unshare", "setpriv", "iptables-nft-restore") if not shutil.which(t)]
    if missing:
        pytest.skip(f"userns test needs: {', '.join(missing)}")
    proc = subprocess.run(
        as_unprivileged([*UNSHARE, "true"]), capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        pytest.skip(f"unprivileged user namespaces are blocked here: {proc.stderr.strip()}")


def test_mark_rules_capture_app_traffic_and_skip_marked_proxy_traffic() -> None:
    require_userns()
    proc = subprocess.run(
        as_unprivileged([*UNSHARE, unprivileged_python(), str(PROBE)]),
        input=render_rules(variant="mark"),
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    # The app's connection to a service VIP is captured by the outbound listener.
    assert report["app_to_vip"] == {"port": 15001, "orig": "10.96.0.10:9080"}
    # The proxy's (SO_MARK 1337) is not: it leaves for the VIP, which exists nowhere.
    assert report["proxy_to_vip"].startswith("not captured")
    # Istio's loopback special cases: the proxy calling its own pod IP goes through inbound,
    # the app calling it does not, and the inbound passthrough from 127.0.0.6 is untouched.
    assert report["proxy_to_own_pod_ip"] == {"port": 15006, "orig": "10.244.0.2:9080"}
    assert report["app_to_own_pod_ip"]["port"] == 9080
    assert report["passthrough_127_0_0_6"]["port"] == 9080
    assert report["app_to_localhost"]["port"] == 9080
