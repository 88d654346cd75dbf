"""The one mesh-config reader: an IstioOperator's meshConfig, and the proxy defaults in it."""

from __future__ import annotations

from config_support.manifests import manifests
from sailmesh.config.load import load_text
from sailmesh.config.meshconfig import mesh_config_document
from sailmesh.config.proxyconfig import default_proxy_config
from sailmesh.config.resource import Resource

OPERATOR = """
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {name: %s, namespace: istio-system}
spec:
  meshConfig: %s
"""
SERVICE = manifests("""
Service a
spec: {ports: [{name: http, port: 80}]}
""")


def _load(*texts: str) -> list[Resource]:
    out: list[Resource] = []
    for text in texts:
        loaded = load_text(text, "mesh.yaml")
        assert loaded.ok, loaded.problems
        out += loaded.resources
    return out


def test_no_operator_means_an_empty_document_and_no_proxy_defaults() -> None:
    document = mesh_config_document(_load(SERVICE))
    assert dict(document) == {} and dict(default_proxy_config(document)) == {}


def test_the_first_operator_that_sets_a_mesh_config_wins() -> None:
    resources = _load(
        OPERATOR % ("empty", "{}"),
        OPERATOR % ("first", "{trustDomain: first.local, defaultConfig: {concurrency: 2}}"),
        OPERATOR % ("second", "{trustDomain: second.local}"),
    )
    document = mesh_config_document(resources)
    assert document["trustDomain"] == "first.local"
    assert dict(default_proxy_config(document)) == {"concurrency": 2}


def test_a_default_config_that_is_not_a_mapping_gives_no_defaults() -> None:
    document = mesh_config_document(_load(OPERATOR % ("odd", "{defaultConfig: [1, 2]}")))
    assert dict(default_proxy_config(document)) == {}
