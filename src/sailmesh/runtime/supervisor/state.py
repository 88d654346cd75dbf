"""The mutable per-container state behind :class:`~sailmesh.runtime.supervisor.PodSupervisor`.

A :class:`ContainerRun` is only touched with the supervisor's lock held (its probe excepted,
which runs without the lock); events go out through the ``emit(container, event, detail)``
function the supervisor passes in, which queues them for delivery outside the lock.
"""

from __future__ import annotations

import logging
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from sailmesh.runtime.supervisor.procs import reap, signal_group, tail
from sailmesh.runtime.supervisor.types import (
    Backoff,
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    Spawner,
    exit_code_of,
    exit_reason,
)

log = logging.getLogger(__name__)

Emit = Callable[[str, str, str], None]

START_ERROR_CODE = 128
"""The exit code recorded when the spawner itself fails (command not found, ...)."""


class ContainerRun:
    """One container's process, restart bookkeeping and last termination."""

    def __init__(self, spec: ContainerSpec, log_path: Path) -> None:
        self.spec = spec
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.state: ContainerState = "waiting"
        self.reason = "ContainerCreating" if spec.role == "proxy" else "PodInitializing"
        self.ready = False
        self.restarts = 0
        self.last_exit_code: int | None = None
        self.last_exit_reason: str | None = None
        self.started_at: float | None = None
        self.restart_at: float | None = None
        self.backoff_level = 0
        self.done = False
        self.generation = 0
        self.signalled = False
        self.ran_for = 0.0
        self.grace = spec.grace_seconds
        self.kill_at: float | None = None
        self.killed_at: float | None = None

    @property
    def pid(self) -> int | None:
        """The pid of the running process, if any."""
        return self.proc.pid if self.proc is not None else None

    @property
    def needs_probe(self) -> bool:
        """Running but not (yet) ready."""
        return self.proc is not None and not self.ready

    @property
    def failed(self) -> bool:
        """Killed after its grace period, or ended non-zero without being asked to stop."""
        if self.killed_at is not None:
            return True
        return not self.signalled and self.last_exit_code not in (None, 0)

    def spawn(self, spawner: Spawner, now: float, emit: Emit) -> bool:
        """Start the process; a spawner error is recorded as an exit (returns False)."""
        self.generation += 1
        self.started_at = now
        try:
            self.proc = spawner(self.spec, self.log_path)
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            self._append_log(f"[sailmesh] failed to start {list(self.spec.argv)}: {exc}")
            self._record_exit(START_ERROR_CODE, f"StartError: {exc}", "exited", emit)
            self.ran_for = 0.0
            return False
        self.state, self.reason = "running", ""
        emit(self.spec.name, "started", f"pid {self.proc.pid}")
        if self.spec.readiness_probe is None:
            self.mark_ready(emit)
        return True

    def probe(self) -> bool:
        """Run the readiness probe (without the lock); errors count as not ready."""
        if self.spec.readiness_probe is None:
            return True
        try:
            return bool(self.spec.readiness_probe())
        except Exception as exc:
            log.debug("readiness probe of %s failed: %s", self.spec.name, exc)
            return False

    def mark_ready(self, emit: Emit) -> None:
        """Record that the readiness probe passed."""
        self.ready = True
        emit(self.spec.name, "ready", "")

    def reap(self, now: float, emit: Emit) -> bool:
        """Record the process's exit if it has exited (returns whether it did)."""
        if self.proc is None:
            return False
        returncode = reap(self.proc)
        if returncode is None:
            return False
        event = "stopped" if self.signalled else "exited"
        self._record_exit(exit_code_of(returncode), exit_reason(returncode), event, emit)
        self.ran_for = now - self.started_at if self.started_at is not None else 0.0
        return True

    def schedule_restart(self, now: float, backoff: Backoff) -> float:
        """Wait for a restart: returns the backoff delay (reset after a long healthy run)."""
        if self.ran_for >= backoff.reset_after:
            self.backoff_level = 0
        delay = backoff.delay(self.backoff_level)
        self.backoff_level += 1
        self.restart_at = now + delay
        self.state, self.reason = "waiting", "CrashLoopBackOff"
        return delay

    def cancel_restart(self) -> None:
        """Drop a pending restart: the container stays terminated."""
        if self.restart_at is not None:
            self.restart_at = None
            self.state, self.reason = "terminated", self.last_exit_reason or "Stopped"
        if self.proc is None:
            self.done = True

    def terminate(self, now: float, grace: float | None, emit: Emit) -> None:
        """Send SIGTERM to the container's group; SIGKILL becomes due after the grace period."""
        if self.proc is None:
            return
        self.signalled = True
        self.grace = grace if grace is not None else self.spec.grace_seconds
        self.kill_at = now + self.grace
        if signal_group(self.proc, signal.SIGTERM):
            emit(self.spec.name, "stopping", "SIGTERM")

    def kill_if_overdue(self, now: float, emit: Emit) -> None:
        """SIGKILL the container's group once its grace period has passed."""
        if self.proc is None or self.kill_at is None or self.killed_at is not None:
            return
        if now >= self.kill_at:
            self.killed_at = now
            signal_group(self.proc, signal.SIGKILL)
            emit(self.spec.name, "killed", f"SIGKILL after {self.grace:g}s")

    def abandon(self) -> None:
        """Forget a process that survived SIGKILL (uninterruptible sleep); it is logged."""
        self.proc = None
        self.done = True
        self.state, self.reason = "terminated", "Unkillable"

    def tail(self, lines: int = 20) -> list[str]:
        """The last lines of this container's log."""
        return tail(self.log_path, lines)

    def status(self) -> ContainerStatus:
        """A frozen snapshot."""
        return ContainerStatus(
            name=self.spec.name,
            role=self.spec.role,
            state=self.state,
            reason=self.reason,
            ready=self.ready,
            restarts=self.restarts,
            pid=self.pid,
            last_exit_code=self.last_exit_code,
            last_exit_reason=self.last_exit_reason,
            started_at=self.started_at,
        )

    def _record_exit(self, code: int, reason: str, event: str, emit: Emit) -> None:
        self.proc = None
        self.ready = False
        self.last_exit_code, self.last_exit_reason = code, reason
        self.state, self.reason = "terminated", reason
        emit(self.spec.name, event, f"code {code} ({reason})")

    def _append_log(self, line: str) -> None:
        try:
            with open(self.log_path, "a", encoding="utf-8") as out:
                out.write(line + "\n")
        except OSError:
            pass
