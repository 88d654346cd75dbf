"""Processes of the pod network itself (add-ons such as Prometheus), in the node namespace.

In: the run's names and sandbox strategy, an add-on's command line, files and the port it
serves. Out: a :class:`NodeProcess` running in the node namespace (``netns`` mode: where the
bridge is, so it reaches every pod's address) as ``nobody``, a listening socket opened in the
node namespace for a server of ours (:func:`listen_in_node`), and a 127.0.0.1 forwarder to
the add-on's port (its UI for the user). Add-ons need the node namespace: other modes refuse
them with one line (:class:`AddonUnavailable`).

Against someone else on the host: the add-on runs as ``nobody`` in a namespace only root can
enter; what it serves reaches the host only through the 127.0.0.1 forwarder (any local user
can read the mesh's metrics there, as with the gateway's ports); its files live in the run's
work directory and go with it.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sailmesh.clock import SYSTEM_CLOCK, Clock
from sailmesh.errors import SailmeshError
from sailmesh.runtime.sandbox import netns
from sailmesh.runtime.sandbox.errors import SandboxError
from sailmesh.runtime.sandbox.forward import socket_in_netns
from sailmesh.runtime.sandbox.modes import Mode

NOBODY = 65534


class AddonUnavailable(SailmeshError):
    """An add-on cannot run here (its binary is missing, or the sandbox mode has no node
    namespace)."""


@dataclass(frozen=True)
class AddonSpec:
    """An add-on: its name, command line, files to write first (path -> text, relative to
    its directory, which is ``{dir}`` in the command line) and the port it serves."""

    name: str
    argv: tuple[str, ...]
    files: Mapping[str, str]
    port: int
    ready_path: str = "/"


class NodeProcess:
    """One add-on process in the node namespace; stopped by its own pid."""

    def __init__(self, names: netns.RunNames, spec: AddonSpec, clock: Clock = SYSTEM_CLOCK):
        self.names = names
        self.spec = spec
        self.clock = clock
        self.directory = names.workdir / "addons" / spec.name
        self.log_path = self.directory / f"{spec.name}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for relative, text in self.spec.files.items():
            path = self.directory / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            os.chmod(path, 0o644)
        data = self.directory / "data"
        data.mkdir(exist_ok=True)
        for path in [self.names.workdir / "addons", self.directory, *self.directory.rglob("*")]:
            if path.is_dir():
                os.chmod(path, 0o755)
        if os.geteuid() == 0:
            os.chown(data, NOBODY, NOBODY)
        argv = [a.replace("{dir}", str(self.directory)) for a in self.spec.argv]
        command = netns.exec_argv(self.names.node_ns, argv, NOBODY, NOBODY)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                start_new_session=True,
            )

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Until the add-on answers 200 on its ready path inside the node namespace."""
        deadline = self.clock.monotonic() + timeout
        while self.clock.monotonic() < deadline:
            if not self.running():
                raise AddonUnavailable(f"{self.spec.name} exited: {self.log_tail()}")
            if get_in_node(self.names, self.spec.port, self.spec.ready_path)[0] == 200:
                return
            self.clock.sleep(0.1)
        raise AddonUnavailable(f"{self.spec.name} not ready after {timeout:g}s: {self.log_tail()}")

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:])

    def stop(self, timeout: float = 5.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def node_netns_file(names: netns.RunNames, mode: Mode) -> Path:
    """The node namespace's file; refuses modes without one."""
    if mode is not Mode.NETNS:
        raise AddonUnavailable(
            f"add-ons run in the node network namespace of netns mode (this run is {mode}); "
            "run as root"
        )
    return netns.netns_path(names.node_ns)


def listen_in_node(names: netns.RunNames, mode: Mode, host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` inside the node namespace."""
    sock = socket_in_netns(node_netns_file(names, mode))
    sock.setblocking(True)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(64)
    return sock


def get_in_node(
    names: netns.RunNames, port: int, path: str, host: str = "127.0.0.1", timeout: float = 2.0
) -> tuple[int, str]:
    """GET ``path`` from ``host:port`` as seen from the node namespace; ``(0, error)``."""
    try:
        sock = socket_in_netns(netns.netns_path(names.node_ns))
    except SandboxError as exc:
        return 0, str(exc)
    try:
        sock.setblocking(True)
        sock.settimeout(timeout)
        sock.connect((host, port))
    except OSError as exc:
        sock.close()
        return 0, str(exc)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    conn.sock = sock
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    except OSError as exc:
        return 0, str(exc)
    finally:
        conn.close()
