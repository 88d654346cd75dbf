"""Per-pod proxy config: delta xDS by default, turned off by ``ISTIO_DELTA_XDS`` in the mesh's
``defaultConfig`` or the pod's ``proxy.istio.io/config`` (the pod winning); the workload
certificate lifetime ``SECRET_TTL`` the same way (24 h by default)."""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e_support.localmesh import load
from sailmesh.app.bootstrap import render_pod_bootstrap
from sailmesh.config.meshconfig import mesh_config_document
from sailmesh.config.proxyconfig import (
    default_proxy_config,
    delta_xds,
    pod_proxy_config,
    proxy_metadata,
    secret_ttl,
)
from sailmesh.runtime import proxy
from sailmesh.runtime.workloads import PodPlan, plan_pods

OPERATOR = """
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {name: mesh, namespace: istio-system}
spec:
  meshConfig:
    defaultConfig:
      proxyMetadata: {ISTIO_DELTA_XDS: "%s"}
"""


def _deployment(annotation: str | None = None) -> str:
    annotations = (
        f"      annotations:\n        proxy.istio.io/config: '{annotation}'\n" if annotation else ""
    )
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n"
        "  selector: {matchLabels: {app: a}}\n  template:\n    metadata:\n"
        f"{annotations}"
        "      labels: {app: a}\n"
        "    spec: {containers: [{name: a, command: [sleep, '9']}]}\n"
    )


def _plan(*texts: str) -> PodPlan:
    resources = [r for text in texts for r in load(text)]
    mesh_proxy = default_proxy_config(mesh_config_document(resources))
    (plan,) = plan_pods(resources, mesh_proxy)
    return plan


def _api_type(plan: PodPlan) -> str:
    doc = render_pod_bootstrap(proxy.bootstrap_request(plan, "10.244.0.2", Path("/x.sock")))
    api_type: str = doc["dynamic_resources"]["ads_config"]["api_type"]
    return api_type


def test_delta_is_the_default() -> None:
    plan = _plan(_deployment())
    assert plan.delta_xds and _api_type(plan) == "DELTA_GRPC"


def test_pod_annotation_turns_delta_off() -> None:
    plan = _plan(_deployment('{proxyMetadata: {ISTIO_DELTA_XDS: "false"}}'))
    assert not plan.delta_xds and _api_type(plan) == "GRPC"


def test_mesh_default_config_applies_and_the_pod_wins() -> None:
    assert not _plan(OPERATOR % "false", _deployment()).delta_xds
    pod_on = _deployment('{proxyMetadata: {ISTIO_DELTA_XDS: "true"}}')
    assert _plan(OPERATOR % "false", pod_on).delta_xds


@pytest.mark.parametrize(
    ("value", "delta"),
    [("false", False), ("False", False), ("0", False), ("true", True), ("1", True), ("", True)],
)
def test_delta_xds_values(value: str, delta: bool) -> None:
    assert delta_xds({"ISTIO_DELTA_XDS": value}) is delta


def test_unusable_annotation_is_ignored_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    assert pod_proxy_config({"proxy.istio.io/config": "{unclosed"}, "pod default/a") == {}
    assert pod_proxy_config({"proxy.istio.io/config": "[1, 2]"}, "pod default/a") == {}
    assert "pod default/a" in caplog.text and "proxy.istio.io/config" in caplog.text
    assert proxy_metadata({"proxyMetadata": {"A": 1}}, {"proxyMetadata": {"A": "2", "B": "x"}}) == {
        "A": "2",
        "B": "x",
    }


SECRET_TTL_OPERATOR = """
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {name: mesh, namespace: istio-system}
spec:
  meshConfig:
    defaultConfig:
      proxyMetadata: {SECRET_TTL: 12h}
"""


def test_secret_ttl_is_24h_unless_the_mesh_or_the_pod_says_otherwise() -> None:
    assert _plan(_deployment()).secret_ttl == 24 * 3600
    assert _plan(SECRET_TTL_OPERATOR, _deployment()).secret_ttl == 12 * 3600
    pod = _deployment("{proxyMetadata: {SECRET_TTL: 90s}}")
    assert _plan(SECRET_TTL_OPERATOR, pod).secret_ttl == 90


@pytest.mark.parametrize("value", ["soon", "0s", "100d", "2200h"])
def test_an_unusable_secret_ttl_is_logged_and_the_default_used(
    value: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert secret_ttl({"SECRET_TTL": value}, "pod default/a") == 24 * 3600
    assert "pod default/a" in caplog.text and value in caplog.text


def test_the_bootstrap_points_at_the_pods_sds_socket() -> None:
    plan = _plan(_deployment())
    request = proxy.bootstrap_request(plan, "10.244.0.2", Path("/x.sock"), sds_socket=Path("/s"))
    doc = render_pod_bootstrap(request)
    clusters = {c["name"]: c for c in doc["static_resources"]["clusters"]}
    assert clusters["sds-grpc"]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"][
        "address"
    ] == {"pipe": {"path": "/s"}}
    assert doc["node"]["metadata"]["SAILMESH_SDS"] == "true"
