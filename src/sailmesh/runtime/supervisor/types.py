"""Value types of the pod supervisor: container specs, status snapshots, errors.

Everything here is plain data (frozen dataclasses and ``Literal`` aliases) so that the
supervisor's snapshots can be handed to other threads and serialised by the CLI.
"""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sailmesh.errors import SupervisorError

Role = Literal["proxy", "app"]
"""``proxy`` containers (the sidecar) start first and stop last; ``app`` containers the rest."""

RestartPolicy = Literal["Always", "OnFailure", "Never"]
"""Kubernetes restart policies: restart on any exit, on a non-zero exit, or never."""

ContainerState = Literal["waiting", "running", "terminated"]
"""Kubernetes container states."""

PodPhase = Literal["Pending", "Running", "Succeeded", "Failed", "Terminating"]
"""Pod phases (Kubernetes' phases plus ``Terminating`` while :meth:`stop` drains)."""

ROLES: tuple[Role, ...] = ("proxy", "app")
RESTART_POLICIES: tuple[RestartPolicy, ...] = ("Always", "OnFailure", "Never")

_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,252})$")

Spawner = Callable[["ContainerSpec", Path], "subprocess.Popen[bytes]"]
"""Starts one container process; the path is the log file to append stdout and stderr to.

The spawner must start the process in its own session (``start_new_session=True``) so that
the supervisor can signal the whole container with ``os.killpg(pid, sig)``.
"""

EventCallback = Callable[[str, str, str, str], None]
"""``on_event(pod, container, event, detail)``; ``container`` is ``""`` for pod-level events."""


class PodStartError(SupervisorError):
    """A pod's proxy did not become ready (it exited, or the readiness wait timed out)."""

    def __init__(self, pod: str, container: str, reason: str, log_tail: Sequence[str]) -> None:
        self.pod = pod
        self.container = container
        self.reason = reason
        self.log_tail = list(log_tail)
        tail = "\n".join(f"  | {line}" for line in self.log_tail) or "  | (log is empty)"
        super().__init__(f"pod {pod!r}: container {container!r} {reason}; last log lines:\n{tail}")


@dataclass(frozen=True)
class Backoff:
    """Restart backoff: ``initial * factor**n`` seconds, capped; reset after healthy running."""

    initial: float = 1.0
    factor: float = 2.0
    cap: float = 30.0
    reset_after: float = 10.0

    def delay(self, level: int) -> float:
        """The delay before restart number ``level`` (0-based) since the last reset."""
        return float(min(self.cap, self.initial * self.factor ** max(0, level)))


@dataclass(frozen=True)
class ContainerSpec:
    """One container of a pod: what to run, its role, restart policy and readiness probe.

    ``readiness_probe`` is called (from the supervisor's thread) until it returns ``True``
    after each start; exceptions count as "not ready". Without a probe a running container
    is ready. ``grace_seconds`` is how long :meth:`PodSupervisor.stop` waits after SIGTERM
    before SIGKILL.
    """

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    working_dir: Path | None = None
    role: Role = "app"
    restart_policy: RestartPolicy = "Always"
    readiness_probe: Callable[[], bool] | None = None
    grace_seconds: float = 30.0

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"invalid container name {self.name!r}")
        if not self.argv:
            raise ValueError(f"container {self.name!r}: argv must not be empty")
        if self.role not in ROLES:
            raise ValueError(f"container {self.name!r}: role must be one of {ROLES}")
        if self.restart_policy not in RESTART_POLICIES:
            raise ValueError(
                f"container {self.name!r}: restart_policy must be one of {RESTART_POLICIES}"
            )
        if self.grace_seconds < 0:
            raise ValueError(f"container {self.name!r}: grace_seconds must be >= 0")

    def should_restart(self, exit_code: int) -> bool:
        """Whether an exit with ``exit_code`` leads to a restart under this policy."""
        if self.restart_policy == "Always":
            return True
        return self.restart_policy == "OnFailure" and exit_code != 0


@dataclass(frozen=True)
class ContainerStatus:
    """A snapshot of one container.

    ``last_exit_code`` follows the shell convention: ``128 + N`` when killed by signal N.
    ``started_at`` is a reading of the supervisor's clock (``clock.monotonic()``).
    """

    name: str
    role: Role
    state: ContainerState
    reason: str
    ready: bool
    restarts: int
    pid: int | None
    last_exit_code: int | None
    last_exit_reason: str | None
    started_at: float | None


@dataclass(frozen=True)
class PodStatus:
    """A snapshot of a pod: its phase, readiness and containers (in spec order)."""

    name: str
    phase: PodPhase
    ready: bool
    containers: tuple[ContainerStatus, ...]

    def container(self, name: str) -> ContainerStatus:
        """The status of the container called ``name`` (``KeyError`` if there is none)."""
        for status in self.containers:
            if status.name == name:
                return status
        raise KeyError(name)


def exit_code_of(returncode: int) -> int:
    """A :class:`subprocess.Popen` return code in shell convention (``-N`` becomes ``128+N``)."""
    return 128 - returncode if returncode < 0 else returncode


def exit_reason(returncode: int) -> str:
    """``Completed``, ``Error``, or the name of the signal that killed the process."""
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return "Completed" if returncode == 0 else "Error"
