"""From manifests to pod plans: replicas, names, containers, Istio's injection rules and the
gateway template."""

from __future__ import annotations

import pytest
from runtime_plans import deployment, namespace, plan, plans

from e2e_support.localmesh import load
from sailmesh.runtime.workloads import injection_enabled, plan_pods


def test_a_deployment_becomes_one_plan_per_replica() -> None:
    got = plans(namespace("shop"), deployment("web", namespace="shop", replicas=2))
    assert [p.name.rsplit("-", 1)[1] for p in got] == ["0", "1"]
    assert {p.name.rsplit("-", 2)[0] for p in got} == {"web"}
    assert len({p.template_hash for p in got}) == 1
    first = got[0]
    assert (first.namespace, first.owner, first.service_account) == (
        "shop",
        "Deployment/web",
        "sa-web",
    )
    assert first.label_map == {"app": "web"}
    assert first.inject and not first.gateway and first.restart_policy == "Always"
    (container,) = first.containers
    assert (container.name, container.argv, container.ports) == (
        "app",
        ("sleep", "9"),
        (("", 9080),),
    )


def test_command_args_env_and_named_ports() -> None:
    containers = (
        "[{name: app, command: [python3], args: ['-m', 'http.server'], workingDir: /srv,"
        " env: [{name: A, value: '1'}, {name: B}], ports: [{name: http, containerPort: 8000}]}]"
    )
    p = plan(deployment("web", containers=containers))
    (c,) = p.containers
    assert c.argv == ("python3", "-m", "http.server")
    assert c.env == (("A", "1"), ("B", ""))
    assert c.working_dir == "/srv"
    assert p.named_ports == {"http": 8000}


def test_a_changed_template_changes_the_hash() -> None:
    one = plan(deployment("web"))
    two = plan(deployment("web", labels="version: v2"))
    assert one.template_hash != two.template_hash and one.name != two.name


@pytest.mark.parametrize(
    ("ns_label", "pod_label", "annotation", "injected"),
    [
        ("enabled", None, None, True),
        (None, None, None, False),
        ("disabled", None, None, False),
        ("enabled", "false", None, False),  # the pod's label wins over the namespace
        (None, "true", None, True),
        ("enabled", None, "false", False),  # the legacy annotation counts as well
        (None, "True", None, True),
    ],
)
def test_injection_rules(
    ns_label: str | None, pod_label: str | None, annotation: str | None, injected: bool
) -> None:
    ns = {"istio-injection": ns_label} if ns_label else {}
    labels = {"sidecar.istio.io/inject": pod_label} if pod_label else {}
    annotations = {"sidecar.istio.io/inject": annotation} if annotation else {}
    assert injection_enabled(ns, labels, annotations) is injected


def test_injection_from_manifests() -> None:
    off = deployment("web", namespace="shop", labels="sidecar.istio.io/inject: 'false'")
    assert not plan(namespace("shop"), off).inject
    assert not plan(namespace("shop", "disabled"), deployment("web", namespace="shop")).inject
    assert not plan(deployment("web")).inject  # no Namespace: no injection


def test_the_gateway_template_makes_a_gateway_with_its_proxy() -> None:
    gw = plan(deployment("ingress", annotations="inject.istio.io/templates: gateway"))
    assert gw.gateway and gw.inject


def test_bare_pods_and_sorting() -> None:
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a-pod, namespace: default}\n"
        "spec: {restartPolicy: Never, containers: [{name: c, command: ['true']}]}\n"
    )
    got = plan_pods([*load(pod), *load(deployment("zz")), *load(deployment("aa"))])
    assert [p.owner for p in got] == ["Pod/a-pod", "Deployment/aa", "Deployment/zz"]
    bare = next(p for p in got if p.owner == "Pod/a-pod")
    assert bare.name == "a-pod" and bare.restart_policy == "Never"
    assert bare.service_account == "default"
