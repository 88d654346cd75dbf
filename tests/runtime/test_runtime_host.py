"""RuntimeHost without pods running: the chosen mode's strategy, limits and node, and the API's
``exec`` call (the argv, environment and directory ``sailctl exec`` runs)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from runtime_plans import deployment, plan

from sailmesh.errors import ApiError
from sailmesh.runtime.host import RuntimeHost
from sailmesh.runtime.local import RunningPod
from sailmesh.runtime.sandbox.explicit_mode import ExplicitSandbox
from sailmesh.runtime.sandbox.modes import Mode
from sailmesh.runtime.sandbox.pod import PodSandbox, PodSpec
from sailmesh.runtime.sandbox.strategy import APP_PATH


def explicit_host() -> tuple[RuntimeHost, RunningPod]:
    host = RuntimeHost("explicit", run_id="host1")
    p = plan(deployment("web"))
    spec = PodSpec(p.name, explicit_outbound_port=31001)
    sandbox = PodSandbox(host.names, spec, strategy=host.strategy)
    pod = RunningPod(p, sandbox, supervisor=None, index=0, ip="127.0.0.1")  # type: ignore[arg-type]
    host.runtime = SimpleNamespace(  # type: ignore[assignment]
        find_pod=lambda ref, ns=None: pod if ref == "web" else None,
        not_found=lambda ref, ns=None: f"pod {ref!r} not found",
    )
    return host, pod


def exec_call(host: RuntimeHost, **query: str) -> dict[str, Any]:
    return host.runtime_call("exec", {"pod": "web", **query})


def test_the_mode_picks_the_strategy() -> None:
    host = RuntimeHost("explicit", run_id="host1")
    assert host.mode is Mode.EXPLICIT and isinstance(host.strategy, ExplicitSandbox)
    assert host.limits == ExplicitSandbox.limits and host.node is None


def test_exec_answers_argv_env_and_cwd() -> None:
    host, pod = explicit_host()
    answer = exec_call(host, command=json.dumps(["env", "-0"]), container="istio-proxy")
    assert answer == pod.exec_command(["env", "-0"], "istio-proxy").to_json()
    assert answer["argv"][-2:] == ["env", "-0"]
    assert answer["cwd"] == str(pod.sandbox.workdir)
    assert answer["env"]["PATH"] == APP_PATH and answer["env"]["POD_NAME"] == pod.plan.name
    assert answer["env"]["http_proxy"] == "http://127.0.0.1:31001"
    app = exec_call(host, command='["id"]')
    assert app == pod.exec_command(["id"]).to_json()


@pytest.mark.parametrize("command", ["", "not json", "[]", '"ls"', "[1, 2]"])
def test_exec_refuses_a_command_that_is_not_a_list_of_strings(command: str) -> None:
    host, _ = explicit_host()
    with pytest.raises(ApiError) as info:
        exec_call(host, command=command)
    assert info.value.status == 400 and "JSON list of strings" in info.value.body["error"]


def test_exec_of_an_unknown_pod_is_404() -> None:
    host, _ = explicit_host()
    with pytest.raises(ApiError) as info:
        host.runtime_call("exec", {"pod": "nope", "command": '["ls"]'})
    assert info.value.status == 404 and "'nope' not found" in info.value.body["error"]
