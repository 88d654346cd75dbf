"""Policy attachment rules shared by authorization, request authentication and EnvoyFilter
(xds/attachment.py), on plain values: what validation cannot produce is covered here too."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

import pytest

from sailmesh.snapshot.attachment import (
    GATEWAY_API_GROUP,
    GATEWAY_NAME_LABEL,
    attaches,
    target_refs,
)

EDGE = {GATEWAY_NAME_LABEL: "edge", "app": "gw"}


def ref(**fields: str) -> SimpleNamespace:
    base = {"group": GATEWAY_API_GROUP, "kind": "Gateway", "name": "edge", "namespace": None}
    return SimpleNamespace(**{**base, **fields})


def attached(
    policy_ns: str,
    refs: Sequence[SimpleNamespace] = (),
    selector: dict[str, str] | None = None,
    ns: str = "default",
) -> bool:
    return attaches(
        policy_namespace=policy_ns,
        selector=selector,
        refs=refs,
        namespace=ns,
        labels=EDGE,
        root_namespace="istio-system",
    )


def test_namespace_and_root_scope() -> None:
    assert attached("default")
    assert attached("istio-system")
    assert not attached("other")


def test_selectors_match_labels_in_every_namespace_from_the_root() -> None:
    assert attached("istio-system", selector={"app": "gw"}, ns="shop")
    assert not attached("istio-system", selector={"app": "reviews"})
    assert attached("default", selector={})  # an empty selector is namespace-wide


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (ref(), True),
        (ref(namespace="default"), True),  # the policy's own namespace, spelled out
        (ref(namespace="other"), False),  # cross-namespace: never (validation refuses it)
        (ref(group=""), False),  # the core group has no Gateway kind
        (ref(kind="GatewayClass", name="istio"), False),  # waypoints only
        (ref(kind="Service", group="", name="edge"), False),
        (ref(name="other"), False),
    ],
)
def test_gateway_targets(target: SimpleNamespace, expected: bool) -> None:
    assert attached("default", [target]) is expected


def test_targets_replace_the_namespace_scope_even_from_the_root() -> None:
    # a root-namespace policy targets the gateways of the root namespace only
    assert not attached("istio-system", [ref()])
    assert attached("istio-system", [ref()], ns="istio-system")


def test_target_refs_prefers_the_list() -> None:
    one, two = ref(name="a"), ref(name="b")
    assert target_refs(SimpleNamespace(target_refs=[one], target_ref=two)) == [one]
    assert target_refs(SimpleNamespace(target_refs=None, target_ref=two)) == [two]
    assert target_refs(SimpleNamespace()) == []
