"""When a pod serves (its workload is published): every container ready, sidecar included."""

from __future__ import annotations

import pytest

from sailmesh.runtime.local import serving
from sailmesh.runtime.supervisor import ContainerStatus, PodStatus


def _container(name: str, role: str, ready: bool) -> ContainerStatus:
    return ContainerStatus(
        name=name,
        role="proxy" if role == "proxy" else "app",
        state="running" if ready else "waiting",
        reason="",
        ready=ready,
        restarts=0,
        pid=None,
        last_exit_code=None,
        last_exit_reason=None,
        started_at=None,
    )


def _pod(*containers: tuple[str, str, bool]) -> PodStatus:
    return PodStatus("default/p", "Running", False, tuple(_container(*c) for c in containers))


@pytest.mark.parametrize(
    ("pod", "just_ready", "want"),
    [
        (_pod(("istio-proxy", "proxy", True), ("app", "app", True)), "app", True),
        (_pod(("istio-proxy", "proxy", True), ("app", "app", False)), "app", True),
        # the sidecar is restarting: the app's readiness alone does not publish the pod
        (_pod(("istio-proxy", "proxy", False), ("app", "app", True)), "app", False),
        # the restarted sidecar is ready again and the app is: the pod serves again
        (_pod(("istio-proxy", "proxy", False), ("app", "app", True)), "istio-proxy", True),
        # at start the sidecar is ready before the app runs
        (_pod(("istio-proxy", "proxy", True), ("app", "app", False)), "istio-proxy", False),
        (_pod(("a", "app", True), ("b", "app", False)), "a", False),
        (_pod(("a", "app", True)), "a", True),  # no sidecar
        (_pod(("istio-proxy", "proxy", True)), "istio-proxy", False),  # no app: nothing to serve
    ],
)
def test_a_pod_serves_once_every_container_is_ready(
    pod: PodStatus, just_ready: str, want: bool
) -> None:
    assert serving(pod, just_ready) is want
