"""The pod supervisor with real processes: start order, restarts, completion, stop, logs."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from sailmesh.clock import ManualClock
from sailmesh.runtime.supervisor import (
    Backoff,
    ContainerSpec,
    PodStartError,
    PodStatus,
    PodSupervisor,
    popen_spawner,
    tail,
)

PY = sys.executable

# A sidecar stand-in: ready (writes $D/ready) after $READY_AFTER s; records SIGTERM in $D/proxy_term.
PROXY = """
import os, signal, sys, time
d = os.environ["D"]
def term(*_):
    open(os.path.join(d, "proxy_term"), "w").write(repr(time.time()))
    sys.exit(0)
signal.signal(signal.SIGTERM, term)
time.sleep(float(os.environ.get("READY_AFTER", "0")))
open(os.path.join(d, "ready"), "w").close()
print("proxy ready", flush=True)
while True:
    time.sleep(0.05)
"""

# An app that drains for 0.2 s on SIGTERM, recording when it got it and when it exited.
DRAINING_APP = """
import os, signal, sys, time
d = os.environ["D"]
def term(*_):
    open(os.path.join(d, "app_term"), "w").write(repr(time.time()))
    time.sleep(0.2)
    open(os.path.join(d, "app_exit"), "w").write(repr(time.time()))
    sys.exit(0)
signal.signal(signal.SIGTERM, term)
print("up", flush=True)
while True:
    time.sleep(0.05)
"""

# Runs until $D/trigger appears, removes it and exits 1: a crash the test controls.
TRIGGERED_CRASH = """
import os, time
t = os.path.join(os.environ["D"], "trigger")
while not os.path.exists(t):
    time.sleep(0.01)
os.remove(t)
raise SystemExit(1)
"""

Event = tuple[float, str, str, str]


class Harness:
    """Builds supervisors whose spawned processes are recorded (for the leftover check)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        self.events: list[Event] = []
        self.supervisors: list[PodSupervisor] = []

    def spawner(self, spec: ContainerSpec, log_path: Path) -> subprocess.Popen[bytes]:
        proc = popen_spawner(spec, log_path)
        self.procs.append(proc)
        return proc

    def on_event(self, pod: str, container: str, event: str, detail: str) -> None:
        self.events.append((time.time(), container, event, detail))

    def pod(self, containers: Sequence[ContainerSpec], **kwargs: Any) -> PodSupervisor:
        sup = PodSupervisor(
            "web-1",
            containers,
            self.spawner,
            self.tmp / "logs",
            on_event=self.on_event,
            **kwargs,
        )
        self.supervisors.append(sup)
        return sup

    def names(self, container: str | None = None) -> list[tuple[str, str]]:
        return [(c, e) for _, c, e, _ in self.events if container is None or c == container]

    def when(self, container: str, event: str) -> float:
        return next(t for t, c, e, _ in self.events if (c, e) == (container, event))


def env(tmp: Path, **extra: str) -> dict[str, str]:
    return {"D": str(tmp), **extra}


def proxy(tmp: Path, ready_after: float = 0.0, **kwargs: Any) -> ContainerSpec:
    ready = tmp / "ready"
    return ContainerSpec(
        "istio-proxy",
        [PY, "-c", PROXY],
        env=env(tmp, READY_AFTER=str(ready_after)),
        role="proxy",
        readiness_probe=ready.exists,
        grace_seconds=2.0,
        **kwargs,
    )


def app(tmp: Path, code: str, **kwargs: Any) -> ContainerSpec:
    return ContainerSpec("app", [PY, "-c", code], env=env(tmp), **kwargs)


def until(
    pred: Callable[[], bool], timeout: float = 5.0, step: Callable[[], None] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not met in time"
        if step is not None:
            step()
        time.sleep(0.01)


def live_group_members(pgid: int) -> list[int]:
    """Pids of live (non-zombie) processes in process group ``pgid``, read from /proc.

    Zombies are left out: an orphan reparented to a pid 1 that does not reap stays a zombie.
    """
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path)
    yield harness
    for sup in harness.supervisors:
        sup.stop(grace=0.5)
    deadline = time.monotonic() + 1.0  # a SIGKILL sent just now may still be in delivery
    while True:
        leftovers = [p.pid for p in harness.procs if p.poll() is None or live_group_members(p.pid)]
        if not leftovers or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    for pid in leftovers:
        os.killpg(pid, 9)
    assert leftovers == [], f"processes left behind: {leftovers}"


def test_proxy_is_ready_before_app_starts(h: Harness) -> None:
    check = "import os, sys; sys.exit(0 if os.path.exists(os.path.join(os.environ['D'], 'ready')) else 7)"
    sup = h.pod([app(h.tmp, check, restart_policy="Never"), proxy(h.tmp, ready_after=0.3)])
    sup.start()
    assert (h.tmp / "ready").exists()
    assert sup.wait(5).phase == "Succeeded"
    assert sup.status().container("app").last_exit_code == 0
    order = h.names()
    assert order.index(("istio-proxy", "ready")) < order.index(("app", "started"))


def test_run_to_completion_stops_proxy_after_app(h: Harness) -> None:
    sup = h.pod([proxy(h.tmp), app(h.tmp, "print('done')", restart_policy="OnFailure")])
    sup.start()
    status = sup.wait(5)
    assert status.phase == "Succeeded"
    app_status, proxy_status = status.container("app"), status.container("istio-proxy")
    assert (app_status.state, app_status.reason, app_status.restarts) == (
        "terminated",
        "Completed",
        0,
    )
    assert (proxy_status.state, proxy_status.pid) == ("terminated", None)
    assert (h.tmp / "proxy_term").exists()
    order = h.names()
    assert order.index(("app", "exited")) < order.index(("istio-proxy", "stopping"))
    assert order.index(("istio-proxy", "stopping")) < order.index(("istio-proxy", "stopped"))
    assert h.events[-2][1:3] == ("istio-proxy", "stopped")
    assert h.events[-1][1:] == ("", "phase", "Succeeded")


def test_failed_app_under_never_fails_pod(h: Harness) -> None:
    sup = h.pod([proxy(h.tmp), app(h.tmp, "raise SystemExit(3)", restart_policy="Never")])
    sup.start()
    status = sup.wait(5)
    assert status.phase == "Failed"
    assert (status.container("app").last_exit_code, status.container("app").reason) == (3, "Error")
    assert status.container("istio-proxy").state == "terminated"


def test_crash_is_reported_within_200ms_then_restarted(h: Harness) -> None:
    crash = (
        "import os, time; time.sleep(0.1)\n"
        "open(os.path.join(os.environ['D'], 'crashes'), 'a').write(repr(time.time()) + '\\n')\n"
        "raise SystemExit(3)"
    )
    sup = h.pod(
        [proxy(h.tmp), app(h.tmp, crash, restart_policy="Always")],
        backoff=Backoff(initial=0.2, cap=0.3),
    )
    sup.start()
    until(lambda: sup.status().container("app").restarts >= 2)
    sup.stop(grace=1)
    first_crash = float((h.tmp / "crashes").read_text().split()[0])
    assert h.when("app", "exited") - first_crash < 0.2
    app_events = [(e, d) for _, c, e, d in h.events if c == "app"]
    assert app_events[:8] == [
        ("started", app_events[0][1]),
        ("ready", ""),
        ("exited", "code 3 (Error)"),
        ("restarting", "in 0.2s"),
        ("started", app_events[4][1]),
        ("ready", ""),
        ("exited", "code 3 (Error)"),
        ("restarting", "in 0.3s"),  # 0.4 s, capped
    ]
    assert sup.status().container("app").last_exit_code in (3, 143)


def test_backoff_doubles_and_resets_with_fake_clock(h: Harness) -> None:
    clock = ManualClock()
    sup = h.pod(
        [app(h.tmp, TRIGGERED_CRASH, restart_policy="OnFailure")], clock=clock, monitor=False
    )
    sup.start()

    def crash_once() -> str:
        before = len([e for e in h.events if e[2] == "restarting"])
        (h.tmp / "trigger").touch()
        until(lambda: len([e for e in h.events if e[2] == "restarting"]) > before, step=sup.poll)
        return h.events[-1][3]

    def restart_after(delay: float) -> None:
        restarts = sup.status().container("app").restarts
        clock.advance(delay - 0.01)
        sup.poll()
        waiting = sup.status().container("app")
        assert (waiting.state, waiting.reason, waiting.restarts) == (
            "waiting",
            "CrashLoopBackOff",
            restarts,
        )
        assert waiting.last_exit_code == 1
        clock.advance(0.01)
        sup.poll()
        assert sup.status().container("app").restarts == restarts + 1
        assert sup.status().container("app").state == "running"

    assert crash_once() == "in 1s"
    restart_after(1)
    assert crash_once() == "in 2s"
    restart_after(2)
    assert crash_once() == "in 4s"
    restart_after(4)
    clock.advance(10)  # ten seconds of healthy running reset the backoff
    assert crash_once() == "in 1s"
    restart_after(1)
    assert sup.stop(grace=1).container("app").restarts == 4


def test_stop_drains_app_before_proxy(h: Harness) -> None:
    sup = h.pod([proxy(h.tmp), app(h.tmp, DRAINING_APP)])
    sup.start()
    until(lambda: sup.status().ready and "up" in tail(sup.log_path("app")))
    status = sup.stop(grace=3)
    app_exit = float((h.tmp / "app_exit").read_text())
    proxy_term = float((h.tmp / "proxy_term").read_text())
    assert app_exit <= proxy_term
    assert status.phase == "Succeeded"
    assert [s.state for s in status.containers] == ["terminated", "terminated"]
    assert [(c, e) for c, e in h.names() if e in ("stopping", "stopped")] == [
        ("app", "stopping"),
        ("app", "stopped"),
        ("istio-proxy", "stopping"),
        ("istio-proxy", "stopped"),
    ]


def test_process_ignoring_sigterm_is_killed_after_grace(h: Harness) -> None:
    stubborn = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('up', flush=True)\nwhile True: time.sleep(0.05)"
    sup = h.pod([proxy(h.tmp), app(h.tmp, stubborn)])
    sup.start()
    until(lambda: "up" in tail(sup.log_path("app")))
    began = time.monotonic()
    status = sup.stop(grace=0.3)
    assert 0.3 <= time.monotonic() - began < 2.0
    assert (status.container("app").last_exit_code, status.container("app").reason) == (
        137,
        "SIGKILL",
    )
    assert ("app", "killed") in h.names()
    assert status.phase == "Failed"
    assert h.when("app", "killed") <= h.when("istio-proxy", "stopping")


def test_logs_are_captured_per_container(h: Harness) -> None:
    noisy = "import sys\nprint('to stdout', flush=True)\nprint('to stderr', file=sys.stderr, flush=True)"
    sup = h.pod([proxy(h.tmp), app(h.tmp, noisy, restart_policy="Never")])
    sup.start()
    sup.wait(5)
    assert tail(sup.log_path("app"), 10) == ["to stdout", "to stderr"]
    assert tail(sup.log_path("app"), 1) == ["to stderr"]
    assert "proxy ready" in tail(sup.log_path("istio-proxy"))
    assert sup.log_path("app") == h.tmp / "logs" / "app.log"


def test_leftover_children_of_an_exited_container_are_killed(h: Harness) -> None:
    forker = ContainerSpec(
        "app",
        ["sh", "-c", 'sleep 30 & echo $! > "$D/child"; exit 1'],
        env=env(h.tmp),
        restart_policy="Never",
    )
    sup = h.pod([forker])
    sup.start()
    assert sup.wait(5).phase == "Failed"
    child = int((h.tmp / "child").read_text())
    assert child != h.procs[0].pid
    # `sleep 30` is SIGKILLed with the rest of the group when the container's main pid exits.
    until(lambda: live_group_members(h.procs[0].pid) == [], timeout=1.0)


def test_proxy_not_ready_in_time_raises_with_log_tail(h: Harness) -> None:
    never = ContainerSpec(
        "istio-proxy",
        [PY, "-c", "print('binding 15001 failed', flush=True)\nimport time\ntime.sleep(30)"],
        role="proxy",
        readiness_probe=lambda: False,
    )
    sup = h.pod([never, app(h.tmp, "pass")], ready_timeout=0.5)
    with pytest.raises(PodStartError) as err:
        sup.start()
    message = str(err.value)
    assert "web-1" in message and "istio-proxy" in message and "not ready after 0.5s" in message
    assert "binding 15001 failed" in message
    status = sup.status()
    assert status.phase == "Failed"
    assert status.container("app").state == "waiting"  # never started
    assert [s.pid for s in status.containers] == [None, None]


def test_proxy_exiting_during_start_raises(h: Harness) -> None:
    dying = ContainerSpec(
        "istio-proxy",
        [PY, "-c", "print('bad config'); raise SystemExit(4)"],
        role="proxy",
        readiness_probe=lambda: False,
    )
    sup = h.pod([dying, app(h.tmp, "pass")])
    with pytest.raises(PodStartError, match=r"exited with code 4 \(Error\)[\s\S]*bad config"):
        sup.start()


def test_spawn_failure_is_recorded_as_start_error(h: Harness) -> None:
    missing = ContainerSpec("app", ["/nonexistent/binary"], restart_policy="Never")
    sup = h.pod([missing])
    sup.start()
    status: PodStatus = sup.wait(5)
    assert status.phase == "Failed"
    assert status.container("app").last_exit_code == 128
    assert (status.container("app").last_exit_reason or "").startswith("StartError")
    assert "failed to start" in tail(sup.log_path("app"))[-1]


def test_monitor_thread_stops_and_pod_can_only_start_once(h: Harness) -> None:
    sup = h.pod([app(h.tmp, "import time; time.sleep(30)")])
    sup.start()
    with pytest.raises(Exception, match="already started"):
        sup.start()
    sup.stop(grace=1)
    assert not any(t.name == "supervisor-web-1" for t in threading.enumerate())
    assert sup.stop().phase == "Succeeded"  # stopped on request: a clean end
