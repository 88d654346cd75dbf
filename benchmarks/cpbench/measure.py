"""The parent: starts the two child processes, waits for the proxies to sync, applies the
changes, and turns what it measured into table rows."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from cpbench.mesh import CHANGE_LABELS
from cpbench.settings import CHANGE_LIMIT_S, SYNC_LIMIT_S, TARGET_MB, TARGET_S, Row

#: The benchmark's entry: the child processes run it with ``--control-plane`` / ``--clients``.
BENCH_FILE = Path(__file__).resolve().parents[1] / "bench_controlplane.py"


class Child:
    def __init__(self, *args: str) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, str(BENCH_FILE), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put("")

    def ask(self, command: str | None, timeout: float) -> str:
        if command is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        line = self.lines.get(timeout=timeout)
        if not line:
            raise RuntimeError("child process exited")
        return line

    def close(self) -> None:
        with contextlib.suppress(queue.Empty, RuntimeError, BrokenPipeError, OSError):
            self.ask("QUIT", 0.01)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _wait_synced(
    cp: Child, clients: Child, count: int, limit: float
) -> tuple[bool, dict[str, Any]]:
    """Wait until ``count`` clients hold what the control plane computed for them. The
    expected versions are asked for once a second (proxies still connecting get theirs
    meanwhile); in between only the clients' count is read."""
    deadline = time.monotonic() + limit
    asked = 0.0
    while True:
        if time.monotonic() - asked >= 1.0:
            asked = time.monotonic()
            expected = cp.ask("EXPECT", limit)
            state = json.loads(clients.ask("WANT " + expected.strip(), limit))
        else:
            state = json.loads(clients.ask("STATUS", limit))
        if state["synced"] >= count or time.monotonic() > deadline:
            return state["synced"] >= count, state
        time.sleep(0.02)


def _timeout(state: dict[str, Any], proxies: int, limit: float) -> str:
    return f"timeout ({state['synced']}/{proxies} after {limit:.0f} s)"


def _report_errors(state: dict[str, Any]) -> None:
    if state.get("errors"):
        print(f"client errors: {state['errors']}", file=sys.stderr)


def _sync_row(
    cp: Child, clients: Child, proxies: int, case: str, t_connect: float, label: str
) -> tuple[bool, Row]:
    ok, state = _wait_synced(cp, clients, proxies, SYNC_LIMIT_S)
    result = f"{state['last'] - t_connect:.2f} s" if ok else _timeout(state, proxies, SYNC_LIMIT_S)
    _report_errors(state)
    return ok, (f"initial sync, {label} (connect to all ACKed)", case, result, "-")


def _change_row(
    cp: Child, clients: Child, proxies: int, case: str, change: str, mode: str
) -> tuple[bool, Row]:
    cp.ask("PROFILE on", 30)
    clients.ask("PROFILE on", 30)
    cpu_before = json.loads(clients.ask("STATUS", 30))["cpu"]
    applied = json.loads(cp.ask(f"APPLY {change}", CHANGE_LIMIT_S + 10))
    ok, state = _wait_synced(cp, clients, proxies, CHANGE_LIMIT_S)
    cp.ask("PROFILE off", 30)
    clients.ask("PROFILE off", 30)
    print(
        f"{case}, {change} ({mode}): simulated clients' CPU {state['cpu'] - cpu_before:.2f} s",
        file=sys.stderr,
    )
    if ok and state["last"] < applied["t0"]:
        result = "not measured: no proxy was sent a new version"
    elif ok:
        result = f"{state['last'] - applied['t0']:.2f} s (push {applied['pushed']:.2f} s)"
    else:
        result = _timeout(state, proxies, CHANGE_LIMIT_S)
    _report_errors(state)
    label = f"apply one-service change -> all ACKed: {CHANGE_LABELS[change]}, {mode}"
    return ok, (label, case, result, f"< {TARGET_S} s")


def _memory_row(cp: Child, case: str, label: str) -> Row:
    mem = json.loads(cp.ask("MEM", 30))
    print(f"{case}, {label}: control plane GC seconds by generation: {mem['gc']}", file=sys.stderr)
    return (
        f"control plane memory, {label}: RSS [peak] (live after trim)",
        case,
        f"{mem['rss']:.0f} MB [{mem['peak']:.0f} MB] ({mem['trimmed']:.0f} MB)",
        f"< {TARGET_MB} MB",
    )


def _wait_disconnected(cp: Child, limit: float) -> None:
    deadline = time.monotonic() + limit
    while json.loads(cp.ask("EXPECT", limit)) and time.monotonic() < deadline:
        time.sleep(0.1)


#: The protocols in the order measured, each with the two changes it applies.
PLAN = (("sotw", ("vs", "dr")), ("delta", ("vs2", "dr2")))


def _plan() -> list[tuple[str, list[str]]]:
    """:data:`PLAN` narrowed by ``BENCH_CP_MODES`` and ``BENCH_CP_CHANGES``."""
    modes = os.environ.get("BENCH_CP_MODES", "sotw,delta").split(",")
    only = os.environ.get("BENCH_CP_CHANGES")
    return [
        (mode, [c for c in changes if not only or c in only.split(",")])
        for mode, changes in PLAN
        if mode in modes
    ]


def _run_mode(
    cp: Child, port: int, proxies: int, case: str, mode: str, changes: list[str], rows: list[Row]
) -> None:
    """Connect ``proxies`` clients of ``mode``, measure their sync and ``changes``; the rows
    go to ``rows`` as they are measured (kept when a later step fails)."""
    t_connect = time.monotonic()
    clients = Child("--clients", str(port), str(proxies), mode)
    try:
        clients.ask(None, 60)
        ok, row = _sync_row(cp, clients, proxies, case, t_connect, mode)
        rows.append(row)
        mem = json.loads(cp.ask("MEM", 30))
        print(
            f"{case}, {mode}: peak RSS by the end of the initial sync {mem['peak']:.0f} MB",
            file=sys.stderr,
        )
        for change in changes if ok else ():
            ok, row = _change_row(cp, clients, proxies, case, change, mode)
            rows.append(row)
        rows.append(_memory_row(cp, case, mode))
    finally:
        clients.close()
    _wait_disconnected(cp, 60)


def run_case(services: int, proxies: int) -> list[Row]:
    case = f"{services} services, {proxies} proxies"
    rows: list[Row] = []
    cp = Child("--control-plane", str(services))
    try:
        port = int(cp.ask(None, 120).split()[1])
        for mode, changes in _plan():
            _run_mode(cp, port, proxies, case, mode, changes, rows)
    except (queue.Empty, RuntimeError) as exc:
        rows.append(("control plane benchmark", case, f"failed: {exc!r}", "-"))
    finally:
        cp.close()
    return rows
