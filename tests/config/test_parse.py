"""parse_document: one YAML document to a typed, validated resource, every problem located."""

from __future__ import annotations

import pytest

from sailmesh.config.parse import parse_document
from sailmesh.config.resource import Resource
from sailmesh.config.validation import registry
from sailmesh.config.yamlsource import YamlDocument, read_text

SIDECAR = """\
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default}
spec:
  egress: [{hosts: ["./*"]}]
"""


def parse_one(text: str) -> tuple[Resource | None, list[tuple[str, str, int | None]]]:
    [doc], syntax_problems = read_text(text, "doc.yaml")
    assert syntax_problems == []
    resource, problems = parse_document(doc, "fallback")
    return resource, [(p.path, p.message, p.source.line if p.source else None) for p in problems]


def test_valid_document_gets_the_default_namespace() -> None:
    resource, problems = parse_one(SIDECAR)
    assert problems == []
    assert resource is not None and resource.namespace == "fallback" and resource.kind == "Sidecar"


def test_cluster_scoped_kind_drops_its_namespace() -> None:
    resource, _ = parse_one("apiVersion: v1\nkind: Namespace\nmetadata: {name: a, namespace: b}\n")
    assert resource is not None and resource.meta.namespace is None


@pytest.mark.parametrize(
    ("text", "path", "fragment"),
    [
        ("- just\n- a list\n", "", "expected a mapping with apiVersion and kind, got list"),
        ("kind: Sidecar\nmetadata: {name: a}\n", "apiVersion", "required field is missing"),
        ("apiVersion: v1\nmetadata: {name: a}\n", "kind", "required field is missing"),
        ("apiVersion: v1\nkind: Sidecar\nmetadata: {name: a}\n", "apiVersion", "not served"),
        ("apiVersion: v1\nkind: Servise\nmetadata: {name: a}\n", "kind", "did you mean 'Service'"),
        (
            "apiVersion: rbac.istio.io/v1alpha1\nkind: ServiceRole\nmetadata: {name: a}\n",
            "kind",
            "custom resource type rbac.istio.io ServiceRole is removed from Istio; use "
            "AuthorizationPolicy (security.istio.io/v1)",
        ),
        (
            "apiVersion: authentication.istio.io/v1alpha1\nkind: MeshPolicy\nmetadata: {name: a}\n",
            "kind",
            "use PeerAuthentication in the root namespace",
        ),
        ("apiVersion: v1\nkind: Service\n", "metadata.name", "every object needs a name"),
        ("apiVersion: v1\nkind: Service\nmetadata: {name: A_b}\n", "metadata.name", "RFC 1123"),
        (
            "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: A_b}\n",
            "metadata.namespace",
            "invalid namespace 'A_b': must be a lowercase RFC 1123 label",
        ),
        (
            f"apiVersion: v1\nkind: Service\nmetadata: {{name: a, namespace: {'n' * 64}}}\n",
            "metadata.namespace",
            "at most 63 characters",
        ),
        (SIDECAR + "  egress: []\n", "spec.egress", "duplicate key"),
        (SIDECAR.replace("{name: default}", "{name: a, name: b}"), "metadata.name", "duplicate"),
    ],
)
def test_rejected_documents(text: str, path: str, fragment: str) -> None:
    resource, problems = parse_one(text)
    assert resource is None
    assert any(p == path and fragment in m for p, m, _ in problems), problems


def test_body_problems_point_at_their_line() -> None:
    resource, problems = parse_one(SIDECAR.replace("egress:", "egres:"))
    assert resource is None
    assert [(path, line) for path, _, line in problems] == [("spec.egres", 5)]


def test_a_crashing_validator_becomes_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(resource: object, report: object) -> None:
        raise RuntimeError("boom")

    validators = {**registry.VALIDATORS, ("networking.istio.io", "Sidecar"): crash}
    monkeypatch.setattr(registry, "VALIDATORS", validators)
    resource, problems = parse_one(SIDECAR)
    assert resource is None
    assert problems == [("", "internal validation error (RuntimeError: boom)", 1)]


def test_document_without_node_still_parses() -> None:
    doc = YamlDocument(
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a"}}, "f", 3
    )
    resource, problems = parse_document(doc)
    assert problems == [] and resource is not None and resource.namespace == "default"


def test_a_duplicate_key_is_reported_at_its_second_line() -> None:
    resource, problems = parse_one(SIDECAR + "  egress: []\n")
    assert resource is None
    assert problems[0][0] == "spec.egress" and problems[0][2] == 6


def test_the_default_namespace_is_checked_too() -> None:
    [doc], _ = read_text(SIDECAR, "doc.yaml")
    for default, fragment in [("", "the namespace is empty"), ("Bad NS", "invalid namespace")]:
        resource, problems = parse_document(doc, default)
        assert resource is None
        (problem,) = problems
        assert problem.path == "metadata.namespace" and fragment in problem.message
        assert "the default namespace of this apply" in problem.message
