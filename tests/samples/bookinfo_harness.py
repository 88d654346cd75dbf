"""Test harness for the bookinfo services: real subprocesses and a header-capturing stand-in."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


def free_port() -> int:
    """A currently unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Service:
    """One bookinfo service running as a subprocess on 127.0.0.1:``port``."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
        self.proc = proc
        self.port = port
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        """Everything the service printed to stdout so far."""
        return self.log_path.read_text()

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Block until the port accepts connections (or fail if the process died)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited with {self.proc.returncode}: {self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.01)
        raise TimeoutError(f"service on port {self.port} not ready")

    def stop(self) -> int:
        """SIGTERM by pid, then SIGKILL if it lingers; returns the exit status."""
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                return self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
        return self.proc.wait(timeout=5)


class Launcher:
    """Starts services (ready-checked together, so start-up overlaps) and stops them all."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.services: list[Service] = []

    def spawn(
        self,
        service: str,
        version: str | None = None,
        env: Mapping[str, str] | None = None,
        *,
        port: int | None = None,
        port_flag: bool = True,
    ) -> Service:
        """Start ``service`` without waiting for it; see :meth:`start`.

        Without ``port_flag`` the port is passed as ``$PORT`` instead of ``--port``.
        """
        port = port or free_port()
        args = [sys.executable, "-m", "sailmesh.samples.bookinfo", service]
        args += ["--port", str(port)] if port_flag else []
        if version:
            args += ["--version", version]
        full_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(SRC),
            "POD_NAME": f"{service}-{version or 'v1'}-test",
            **(env or {}),
        }
        if not port_flag:
            full_env["PORT"] = str(port)
        log_path = self.log_dir / f"{service}-{version or 'v1'}-{port}.log"
        with log_path.open("wb") as out:
            proc = subprocess.Popen(args, stdout=out, stderr=out, env=full_env)
        svc = Service(proc, port, log_path)
        self.services.append(svc)
        return svc

    def start(self, *specs: tuple[str, str | None, Mapping[str, str] | None]) -> list[Service]:
        """Start ``(service, version, env)`` specs in parallel and wait until all are ready."""
        started = [self.spawn(name, version, env) for name, version, env in specs]
        for svc in started:
            svc.wait_ready()
        return started

    def stop_all(self) -> None:
        """Stop every started service, by pid (all signalled first, then awaited)."""
        for svc in self.services:
            if svc.proc.poll() is None:
                os.kill(svc.pid, signal.SIGTERM)
        for svc in self.services:
            svc.stop()


def launching(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Launcher]:
    """A launcher in a fresh directory, whose processes are all stopped when it is done."""
    launcher = Launcher(tmp_path_factory.mktemp(name))
    yield launcher
    launcher.stop_all()


def upstream_env(**services: int) -> dict[str, str]:
    """``<NAME>_HOSTNAME``/``<NAME>_SERVICE_PORT`` pointing ``name`` at 127.0.0.1:``port``."""
    env: dict[str, str] = {}
    for name, port in services.items():
        env[f"{name.upper()}_HOSTNAME"] = "127.0.0.1"
        env[f"{name.upper()}_SERVICE_PORT"] = str(port)
    return env


class Reply:
    """What a :class:`CaptureServer` answers."""

    def __init__(self, status: int = 200, body: Any = None, delay: float = 0.0) -> None:
        self.status = status
        self.body = body if body is not None else {}
        self.delay = delay


class CaptureServer:
    """An in-process HTTP server that records each request's path and headers."""

    def __init__(self, reply: Reply | None = None) -> None:
        self.reply = reply or Reply()
        self.requests: list[tuple[str, dict[str, str]]] = []
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                capture.requests.append((self.path, headers))
                time.sleep(capture.reply.delay)
                body = json.dumps(capture.reply.body).encode()
                self.send_response(capture.reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port: int = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> CaptureServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def capture(reply: Reply | None = None) -> Iterator[CaptureServer]:
    """A running :class:`CaptureServer`."""
    with CaptureServer(reply) as server:
        yield server


def get(
    port: int,
    path: str,
    headers: Mapping[str, str] | None = None,
    method: str = "GET",
    body: bytes | None = None,
) -> tuple[int, http.client.HTTPMessage, str]:
    """One request to 127.0.0.1:``port``: ``(status, headers, body text)``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        response = conn.getresponse()
        return response.status, response.headers, response.read().decode()
    finally:
        conn.close()


def get_json(port: int, path: str, headers: Mapping[str, str] | None = None) -> tuple[int, Any]:
    """GET ``path`` and parse the JSON body."""
    status, _, text = get(port, path, headers)
    return status, json.loads(text)
