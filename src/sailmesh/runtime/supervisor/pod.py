"""The pod process supervisor: start order, restarts with backoff, graceful stop, status.

In: a pod's :class:`ContainerSpec` list and a :data:`Spawner` (which knows about namespaces;
this module does not). Out: supervised processes, :class:`PodStatus` snapshots and
``on_event(pod, container, event, detail)`` callbacks.

- :meth:`PodSupervisor.start` starts the ``proxy`` containers, waits (bounded) until their
  readiness probes pass, then starts the ``app`` containers: the sidecar is ready before the
  app starts.
- A monitor thread calls :meth:`PodSupervisor.poll` every ``poll_interval`` seconds (or the
  caller does, with ``monitor=False``). A crash is reported (``exited``, then ``restarting``)
  in the poll that sees it; the restart itself happens in a later poll once the backoff
  deadline (1 s, 2 s, 4 s ... capped at 30 s; reset after 10 s of running) has passed on the
  injected clock, so the monitor never sleeps through a backoff.
- When every app container has completed for good, the proxies are sent SIGTERM (SIGKILL
  after their grace period) and the pod ends ``Succeeded`` or ``Failed``: the sidecar stops
  after the app.
- :meth:`PodSupervisor.stop` drains: SIGTERM the apps, wait up to the grace period, SIGKILL
  leftovers; only then the same for the proxies. Signals go to process groups by pid.

Events: ``started`` (``pid N``), ``ready``, ``exited`` (``code N (reason)``), ``restarting``
(``in Ns``), ``stopping`` (``SIGTERM``), ``killed`` (``SIGKILL after Ns``), ``stopped``
(``code N (reason)``, an exit the supervisor asked for) and the pod-level ``phase`` (container
``""``, detail the new phase). Callbacks run outside the supervisor's lock; exceptions they
raise are logged and ignored.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

from sailmesh.clock import SYSTEM_CLOCK, Clock
from sailmesh.errors import SupervisorError
from sailmesh.runtime.supervisor.state import ContainerRun
from sailmesh.runtime.supervisor.types import (
    Backoff,
    ContainerSpec,
    EventCallback,
    PodPhase,
    PodStartError,
    PodStatus,
    Role,
    Spawner,
)

log = logging.getLogger(__name__)

_WAIT_STEP = 0.02  # seconds between checks while waiting for readiness or exits
_KILL_WAIT = 5.0  # how long to wait for a SIGKILLed process before giving up on it
_TAIL_LINES = 20


class PodSupervisor:
    """Runs one pod's containers: see the module docstring for the behaviour."""

    def __init__(
        self,
        pod_name: str,
        containers: Sequence[ContainerSpec],
        spawner: Spawner,
        log_dir: Path,
        *,
        clock: Clock | None = None,
        on_event: EventCallback | None = None,
        backoff: Backoff | None = None,
        poll_interval: float = 0.1,
        ready_timeout: float = 20.0,
        monitor: bool = True,
    ) -> None:
        names = [c.name for c in containers]
        if len(set(names)) != len(names):
            raise ValueError(f"pod {pod_name!r}: container names must be unique: {names}")
        if poll_interval <= 0:
            raise ValueError("poll_interval must be positive")
        self.name = pod_name
        self.log_dir = Path(log_dir)
        self._spawner = spawner
        self._clock: Clock = clock if clock is not None else SYSTEM_CLOCK
        self._on_event = on_event
        self._backoff = backoff if backoff is not None else Backoff()
        self._poll_interval = poll_interval
        self._ready_timeout = ready_timeout
        self._monitor_enabled = monitor
        self._runs = [ContainerRun(spec, self.log_path(spec.name)) for spec in containers]
        self._lock = threading.Lock()
        self._emit_lock = threading.RLock()
        self._events: list[tuple[str, str, str]] = []
        self._phase: PodPhase = "Pending"
        self._started = False
        self._stopping = False
        self._stopped = False
        self._draining_sidecar = False
        self._start_failed = False
        self._halt = threading.Event()
        self._finished = threading.Event()
        self._thread: threading.Thread | None = None

    # -- public API -----------------------------------------------------------------------

    def log_path(self, container: str) -> Path:
        """The log file of ``container``: ``log_dir/<container>.log``."""
        return self.log_dir / f"{container}.log"

    def start(self) -> None:
        """Start the proxies, wait until they are ready, then start the apps.

        Raises :class:`PodStartError` (after stopping what was started) if a proxy exits or
        is not ready within ``ready_timeout`` seconds.
        """
        with self._lock:
            if self._started or self._stopped:
                raise SupervisorError(f"pod {self.name!r} was already started")
            self._started = True
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start_role("proxy")
            self._wait_proxies_ready()
        except BaseException:
            with self._lock:
                self._start_failed = True
            self.stop()
            raise
        self._start_role("app")
        with self._lock:
            if self._stopping:
                return
            self._set_phase("Running")
        self._flush()
        if self._monitor_enabled:
            self._thread = threading.Thread(
                target=self._monitor, name=f"supervisor-{self.name}", daemon=True
            )
            self._thread.start()

    def poll(self) -> None:
        """Observe exits, restart due containers, probe readiness, stop a finished pod's proxy."""
        with self._lock:
            if self._phase != "Running" or self._stopping:
                return
            now = self._clock.monotonic()
            for run in self._runs:
                if run.reap(now, self._emit):
                    self._after_exit(run, now)
                if run.restart_at is not None and now >= run.restart_at:
                    run.restart_at = None
                    run.restarts += 1
                    if not run.spawn(self._spawner, now, self._emit):
                        self._after_exit(run, now)
            self._advance_completion(now)
            probes = [(run, run.generation) for run in self._runs if run.needs_probe]
        results = [(run, gen, run.probe()) for run, gen in probes]
        with self._lock:
            for run, gen, ok in results:
                if ok and run.generation == gen and run.needs_probe:
                    run.mark_ready(self._emit)
        self._flush()

    def status(self) -> PodStatus:
        """A frozen snapshot of the pod and its containers."""
        with self._lock:
            containers = tuple(run.status() for run in self._runs)
            ready = self._phase == "Running" and all(
                c.state == "running" and c.ready for c in containers
            )
            return PodStatus(self.name, self._phase, ready, containers)

    def wait(self, timeout: float | None = None) -> PodStatus:
        """Wait (real time) until the pod has finished or been stopped; return its status."""
        self._finished.wait(timeout)
        return self.status()

    def stop(self, grace: float | None = None) -> PodStatus:
        """Drain the pod: apps first (SIGTERM, ``grace`` seconds, SIGKILL), then the proxies.

        ``grace`` overrides each container's ``grace_seconds``. Afterwards the phase is kept if
        the pod had already finished; otherwise it is ``Failed`` if the start failed or an app
        had to be killed or had failed on its own, else ``Succeeded``. Calling it again is a
        no-op (a concurrent second call returns at once). Timing uses the injected clock.
        """
        with self._lock:
            if self._stopping:
                return self._snapshot_unlocked()
            self._stopping = True
            finished = self._phase in ("Succeeded", "Failed")
            if self._started and not finished:
                self._set_phase("Terminating")
            for run in self._runs:
                run.cancel_restart()
        self._flush()
        self._halt.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._drain("app", grace)
        self._drain("proxy", grace)
        with self._lock:
            if self._started and not finished:
                apps = [run for run in self._runs if run.spec.role == "app"]
                failed = self._start_failed or any(run.failed for run in apps)
                self._set_phase("Failed" if failed else "Succeeded")
            self._stopped = True
            self._finished.set()
        self._flush()
        return self.status()

    def __enter__(self) -> PodSupervisor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals ------------------------------------------------------------------------

    def _snapshot_unlocked(self) -> PodStatus:
        containers = tuple(run.status() for run in self._runs)
        return PodStatus(self.name, self._phase, False, containers)

    def _emit(self, container: str, event: str, detail: str) -> None:
        """Queue an event (the lock is held); :meth:`_flush` delivers it."""
        self._events.append((container, event, detail))

    def _flush(self) -> None:
        with self._emit_lock:
            with self._lock:
                events, self._events = self._events, []
            for container, event, detail in events:
                log.debug("pod %s container %s: %s %s", self.name, container, event, detail)
                if self._on_event is None:
                    continue
                try:
                    self._on_event(self.name, container, event, detail)
                except Exception:
                    log.exception("on_event callback failed for pod %s", self.name)

    def _set_phase(self, phase: PodPhase) -> None:
        if phase != self._phase:
            self._phase = phase
            self._emit("", "phase", phase)
            if phase in ("Succeeded", "Failed"):
                self._finished.set()

    def _start_role(self, role: Role) -> None:
        with self._lock:
            if self._stopping:  # stop() from another thread while starting
                return
            now = self._clock.monotonic()
            for run in self._runs:
                if run.spec.role == role and not run.spawn(self._spawner, now, self._emit):
                    if role == "app":
                        self._after_exit(run, now)
                    else:
                        run.done = True
        self._flush()

    def _wait_proxies_ready(self) -> None:
        deadline = self._clock.monotonic() + self._ready_timeout
        proxies = [run for run in self._runs if run.spec.role == "proxy"]
        while True:
            with self._lock:
                now = self._clock.monotonic()
                for run in proxies:
                    if run.reap(now, self._emit) or run.done:
                        run.done = True
                        reason = f"exited with code {run.last_exit_code} ({run.last_exit_reason})"
                        raise PodStartError(
                            self.name, run.spec.name, f"{reason} before becoming ready", run.tail()
                        )
                pending = [(run, run.generation) for run in proxies if not run.ready]
            self._flush()
            results = [(run, gen, run.probe()) for run, gen in pending]
            with self._lock:
                for run, gen, ok in results:
                    if ok and run.generation == gen and run.needs_probe:
                        run.mark_ready(self._emit)
                waiting = [run for run in proxies if not run.ready]
            self._flush()
            if not waiting:
                return
            if self._clock.monotonic() >= deadline:
                run = waiting[0]
                reason = f"not ready after {self._ready_timeout:g}s"
                raise PodStartError(self.name, run.spec.name, reason, run.tail())
            self._clock.sleep(_WAIT_STEP)

    def _after_exit(self, run: ContainerRun, now: float) -> None:
        """Schedule a restart (with backoff) or mark the container completed for good."""
        code = run.last_exit_code if run.last_exit_code is not None else 0
        if self._stopping or run.signalled or not run.spec.should_restart(code):
            run.done = True
            return
        delay = run.schedule_restart(now, self._backoff)
        self._emit(run.spec.name, "restarting", f"in {delay:g}s")

    def _advance_completion(self, now: float) -> None:
        """Once every app has completed, stop the proxies; then end the pod."""
        apps = [run for run in self._runs if run.spec.role == "app"]
        proxies = [run for run in self._runs if run.spec.role == "proxy"]
        if not apps or not all(run.done for run in apps):
            return
        if not self._draining_sidecar:
            self._draining_sidecar = True
            for run in proxies:
                run.cancel_restart()
                run.terminate(now, None, self._emit)
        for run in proxies:
            run.kill_if_overdue(now, self._emit)
        if all(run.proc is None for run in proxies):
            self._set_phase("Failed" if any(run.failed for run in apps) else "Succeeded")

    def _drain(self, role: Role, grace: float | None) -> None:
        """SIGTERM the running containers of ``role``; SIGKILL those still there after grace."""
        with self._lock:
            now = self._clock.monotonic()
            targets = [run for run in self._runs if run.spec.role == role and run.proc]
            for run in targets:
                run.terminate(now, grace, self._emit)
        self._flush()
        while targets:
            with self._lock:
                now = self._clock.monotonic()
                for run in targets:
                    if run.reap(now, self._emit):
                        run.done = True
                    run.kill_if_overdue(now, self._emit)
                targets = [run for run in targets if run.proc is not None]
                for run in targets:
                    if run.killed_at is not None and now - run.killed_at > _KILL_WAIT:
                        log.error("pod %s: pid %s survived SIGKILL", self.name, run.pid)
                        run.abandon()
                targets = [run for run in targets if run.proc is not None]
            self._flush()
            if targets:
                self._clock.sleep(_WAIT_STEP)

    def _monitor(self) -> None:
        while not self._halt.wait(self._poll_interval):
            try:
                self.poll()
            except Exception:
                log.exception("pod %s: supervisor poll failed", self.name)
            if self._finished.is_set():
                return
