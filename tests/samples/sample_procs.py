"""Sample stand-ins (httpbin, fortio, helloworld, tcp-echo) as processes on 127.0.0.1, for the
samples' own tests: started with their images' arguments, stopped by pid."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bookinfo_harness import SRC, free_port

__all__ = ["Proc", "Procs", "free_port", "request"]


class Proc:
    def __init__(self, proc: subprocess.Popen[bytes], log_path: Path) -> None:
        self.proc = proc
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_port(self, port: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"exited with {self.proc.returncode}: {self.log()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise TimeoutError(f"nothing listens on {port}: {self.log()}")


class Procs:
    """Starts ``python -m sailmesh.samples.<module> ...`` processes; stops them all by pid."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[Proc] = []

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(SRC),
            "HOSTNAME": "sample-pod-1",
            **(extra or {}),
        }

    def start(self, module: str, *args: str, env: dict[str, str] | None = None) -> Proc:
        log_path = self.log_dir / f"{module}-{len(self.started)}.log"
        argv = [sys.executable, "-m", f"sailmesh.samples.{module}", *args]
        with log_path.open("wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=out, env=self.env(env))
        started = Proc(proc, log_path)
        self.started.append(started)
        return started

    def run(self, module: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", f"sailmesh.samples.{module}", *args]
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, env=self.env(), check=False
        )

    def stop_all(self) -> None:
        for p in self.started:
            if p.proc.poll() is None:
                os.kill(p.proc.pid, signal.SIGTERM)
        for p in self.started:
            try:
                p.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(p.proc.pid, signal.SIGKILL)
                p.proc.wait(timeout=5)


def procs_in(directory: Path) -> Iterator[Procs]:
    procs = Procs(directory)
    yield procs
    procs.stop_all()


def request(
    port: int,
    path: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body, headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def get_json(port: int, path: str, **kwargs: Any) -> tuple[int, Any]:
    status, _, body = request(port, path, **kwargs)
    return status, json.loads(body)
