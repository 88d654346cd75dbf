"""Pod references of exec/logs/proxy-config: forms, the namespace they are looked up in, and
the one-line answer when nothing matches."""

from __future__ import annotations

from dataclasses import replace

from runtime_plans import deployment, plan

from sailmesh.runtime.podref import PodRef

WEB = plan(deployment("web"))
MESH, LEGACY = replace(WEB, namespace="mesh"), replace(WEB, namespace="legacy")


def test_forms_and_namespaces() -> None:
    assert PodRef.parse("deploy/web", "mesh").matches(MESH)
    assert not PodRef.parse("deploy/web", "default").matches(MESH)
    assert PodRef.parse("deployment/web").matches(LEGACY)  # no namespace: any
    assert PodRef.parse(f"mesh/{WEB.name}", "default").matches(MESH)  # the ref's own wins
    assert PodRef.parse(f"pod/{WEB.name}", "legacy").matches(LEGACY)
    assert PodRef.parse(f"{WEB.name}.mesh", "mesh").matches(MESH)


def test_not_found_names_where_it_exists() -> None:
    ref = PodRef.parse("deploy/web", "default")
    assert ref.not_found([MESH, LEGACY]) == (
        "deployment 'web' not found in namespace 'default'; it exists in namespaces: legacy, mesh"
    )
    assert PodRef.parse("nope", "x").not_found([MESH]) == "pod 'nope' not found in namespace 'x'"
