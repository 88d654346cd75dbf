"""The API backend: config applied whole or not at all, errors with HTTP statuses, the
runtime and shutdown hooks."""

from __future__ import annotations

from typing import Any

import pytest

from config_support.manifests import manifests
from sailmesh import __version__
from sailmesh.app.backend import MeshApi
from sailmesh.controlplane.server import ControlPlane, ControlPlaneSettings
from sailmesh.errors import ApiError

VS = manifests("""
VirtualService reviews
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews}}]}]
""")
BAD = manifests("""
VirtualService broken
  hosts: [ratings]
  http: [{route: [{destination: {host: ratings, subsett: v1}}]}]
""")


def _api() -> MeshApi:
    return MeshApi(ControlPlane(ControlPlaneSettings()))


def test_apply_reports_outcomes_and_get_filters_by_kind_namespace_name() -> None:
    api = _api()
    assert api.apply_yaml(VS, "vs.yaml", "bookinfo")["outcomes"] == [
        "virtualservice/reviews created (namespace bookinfo)"
    ]
    assert api.apply_yaml(VS, "vs.yaml", "bookinfo")["outcomes"] == [
        "virtualservice/reviews unchanged (namespace bookinfo)"
    ]
    (item,) = api.get_config("VirtualService", "bookinfo", "reviews")["items"]
    assert item["metadata"]["namespace"] == "bookinfo"
    assert api.get_config("VirtualService", "default", None)["items"] == []
    assert api.version() == {"version": __version__, "revision": api.cp.store.revision}


def test_a_batch_with_an_invalid_object_is_refused_whole() -> None:
    api = _api()
    with pytest.raises(ApiError) as refused:
        api.apply_yaml(VS + "---" + BAD, "both.yaml", "default")
    assert refused.value.status == 422
    assert any("subsett" in p for p in refused.value.body["problems"])
    assert api.cp.store.list() == []


def test_delete_of_a_missing_object_is_404_unless_ignored() -> None:
    api = _api()
    with pytest.raises(ApiError) as missing:
        api.delete_yaml(VS, "vs.yaml", "default", ignore_not_found=False)
    assert missing.value.status == 404
    assert api.delete_yaml(VS, "vs.yaml", "default", ignore_not_found=True)["outcomes"] == []


def test_runtime_calls_and_shutdown_need_their_hooks() -> None:
    api = _api()
    with pytest.raises(ApiError) as no_runtime:
        api.runtime_call("status", {})
    assert no_runtime.value.status == 404
    with pytest.raises(ApiError) as no_shutdown:
        api.shutdown()
    assert no_shutdown.value.status == 400

    class Runtime:
        def runtime_call(self, what: str, query: dict[str, str]) -> dict[str, Any]:
            return {"what": what, **query}

    stopped: list[bool] = []
    api.runtime = Runtime()
    api.on_shutdown = lambda: stopped.append(True)
    assert api.runtime_call("pod", {"pod": "x"}) == {"what": "pod", "pod": "x"}
    assert api.shutdown() == {"status": "shutting down"} and stopped == [True]


def test_the_ca_routes_need_a_ca_and_a_cacerts_secret_is_answered_with_a_warning() -> None:
    api = _api()
    for call in (api.ca_status, lambda: api.rotate_root(60, "")):
        with pytest.raises(ApiError) as missing:
            call()
        assert missing.value.status == 404 and "no CA" in str(missing.value)
    secret = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: cacerts, namespace: istio-system}\n"
        "stringData: {ca-cert.pem: x}\n"
    )
    warnings = api.apply_yaml(secret, "cacerts.yaml", "default")["warnings"]
    assert any("istio-system/cacerts" in w and "--cacerts" in w for w in warnings)
