"""The pod supervisor: start order, restarts with backoff, graceful stop, status and logs.

In: a pod's :class:`ContainerSpec` list, a :data:`Spawner` that starts one container process
(it knows the sandbox; this package does not) and a :class:`~sailmesh.clock.Clock`. Out:
supervised processes, :class:`PodStatus` snapshots and ``on_event`` callbacks.

- :mod:`.pod`: :class:`PodSupervisor` (start order, monitor, drain);
- :mod:`.state`: the mutable state of one container (:class:`~.state.ContainerRun`);
- :mod:`.procs`: process plumbing (default spawner, group signals, reaping, log tails);
- :mod:`.types`: plain value types (specs, status snapshots, backoff, :class:`PodStartError`).
"""

from sailmesh.errors import SupervisorError
from sailmesh.runtime.supervisor.pod import PodSupervisor
from sailmesh.runtime.supervisor.procs import follow, popen_spawner, tail
from sailmesh.runtime.supervisor.types import (
    Backoff,
    ContainerSpec,
    ContainerStatus,
    EventCallback,
    PodPhase,
    PodStartError,
    PodStatus,
    RestartPolicy,
    Role,
    Spawner,
)

__all__ = [
    "Backoff",
    "ContainerSpec",
    "ContainerStatus",
    "EventCallback",
    "PodPhase",
    "PodStartError",
    "PodStatus",
    "PodSupervisor",
    "RestartPolicy",
    "Role",
    "Spawner",
    "SupervisorError",
    "follow",
    "popen_spawner",
    "tail",
]
