"""A control plane in a child process, so that tests can SIGKILL it.

Run as a script (``python cp_process.py --state DIR --port N --api SOCK``): serves a
:class:`~sailmesh.app.server.MeshServer` and prints ``READY <port>`` on stdout once the ADS
port and the API socket accept connections; runs until killed or sent SIGTERM.
:class:`ControlPlaneProcess` starts, kills (by its own pid) and restarts it on the same port
and state directory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sailmesh.app.api import ApiClient

HERE = Path(__file__).resolve()


class ControlPlaneProcess:
    """``start()`` / ``kill()`` / ``restart()`` a child control plane; ``close()`` ends it."""

    def __init__(self, state_dir: Path, api_socket: Path, port: int, log: Path) -> None:
        self.state_dir = state_dir
        self.api_socket = api_socket
        self.port = port
        self.log = log
        self.proc: subprocess.Popen[str] | None = None
        self.api = ApiClient(api_socket, timeout=10)
        #: time.monotonic() when the last start printed READY.
        self.ready_at = 0.0

    def start(self, timeout: float = 30.0) -> None:
        assert self.proc is None or self.proc.poll() is not None
        src = str(HERE.parents[2] / "src")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
        with self.log.open("a") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    str(HERE),
                    "--state",
                    str(self.state_dir),
                    "--port",
                    str(self.port),
                    "--api",
                    str(self.api_socket),
                ],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=env,
            )
        assert self.proc.stdout is not None
        line = _readline(self.proc, timeout)
        if not line.startswith("READY"):
            self.close()
            raise AssertionError(f"control plane did not start: {line!r}; see {self.log}")
        self.ready_at = time.monotonic()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL, by the child's own pid; waits until it is gone."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()


def _readline(proc: subprocess.Popen[str], timeout: float) -> str:
    import selectors

    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            return f"<nothing within {timeout}s>"
    return proc.stdout.readline().strip()


async def _serve(state: Path, port: int, api: Path) -> None:
    from sailmesh.app.server import MeshServer
    from sailmesh.controlplane.server import ControlPlaneSettings

    settings = ControlPlaneSettings(
        state_dir=state,
        ads_address=f"127.0.0.1:{port}",
        debounce_quiet=0.05,
        debounce_max=1.0,
    )
    server = MeshServer(settings, api)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    bound = await server.start()
    print(f"READY {bound}", flush=True)
    await stop.wait()
    await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(_serve(args.state, args.port, args.api))


if __name__ == "__main__":
    main()
