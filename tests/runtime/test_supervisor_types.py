"""The supervisor's value types: backoff, restart policies, spec validation, exit codes and
reasons, status lookups, and the start error's message."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from sailmesh.errors import SupervisorError
from sailmesh.runtime.supervisor.types import (
    Backoff,
    ContainerSpec,
    ContainerStatus,
    PodStartError,
    PodStatus,
    exit_code_of,
    exit_reason,
)


def test_backoff_delays_are_capped() -> None:
    assert [Backoff().delay(n) for n in range(7)] == [1, 2, 4, 8, 16, 30, 30]


@pytest.mark.parametrize(
    ("policy", "code", "restart"),
    [
        ("Always", 0, True),
        ("Always", 1, True),
        ("OnFailure", 0, False),
        ("OnFailure", 2, True),
        ("Never", 0, False),
        ("Never", 2, False),
    ],
)
def test_restart_policy(policy: Any, code: int, restart: bool) -> None:
    assert ContainerSpec("c", ["true"], restart_policy=policy).should_restart(code) is restart


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "a/b", "argv": ["x"]},
        {"name": "a", "argv": []},
        {"name": "a", "argv": ["x"], "role": "sidecar"},
        {"name": "a", "argv": ["x"], "restart_policy": "Sometimes"},
        {"name": "a", "argv": ["x"], "grace_seconds": -1},
    ],
)
def test_invalid_container_spec(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ContainerSpec(**kwargs)


def test_exit_codes_follow_the_shell_convention() -> None:
    assert [exit_code_of(c) for c in (0, 3, -signal.SIGKILL, -signal.SIGTERM)] == [0, 3, 137, 143]
    assert [exit_reason(c) for c in (0, 3, -signal.SIGKILL)] == ["Completed", "Error", "SIGKILL"]
    assert exit_reason(-200) == "signal 200"


def test_pod_status_finds_containers_by_name() -> None:
    app = ContainerStatus("app", "app", "running", "", True, 0, 42, None, None, 1000.0)
    status = PodStatus("web-1", "Running", True, (app,))
    assert status.container("app") is app
    with pytest.raises(KeyError):
        status.container("istio-proxy")


def test_pod_start_error_quotes_the_log_tail() -> None:
    error = PodStartError("web-1", "istio-proxy", "exited 1", ["boot", "failed"])
    assert isinstance(error, SupervisorError)
    assert str(error) == (
        "pod 'web-1': container 'istio-proxy' exited 1; last log lines:\n  | boot\n  | failed"
    )
    assert "(log is empty)" in str(PodStartError("p", "c", "timed out", []))
