"""PeerAuthentication precedence: scopes, oldest wins, UNSET inheritance, port-level modes."""

from __future__ import annotations

import pytest
from mtls_world import api_proxy, snapshot

from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.xds.peer_authn import PeerPolicy, namespace_mode, workload_policy


def policy(
    name: str,
    namespace: str,
    mode: str | None,
    *,
    created: str = "2024-01-01T00:00:00Z",
    selector: str = "",
    ports: str = "",
) -> str:
    spec = [f"mtls: {{mode: {mode}}}"] if mode else []
    if selector:
        spec.append(f"selector: {{matchLabels: {selector}}}")
    if ports:
        spec.append(f"portLevelMtls: {ports}")
    body = "\n".join(f"  {line}" for line in spec) or "  {}"
    return (
        "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n"
        f"metadata: {{name: {name}, namespace: {namespace}, creationTimestamp: '{created}'}}\n"
        f"spec:\n{body}\n---\n"
    )


def effective(*policies: str, mesh: MeshConfig | None = None, **labels: str) -> PeerPolicy:
    return workload_policy(snapshot("".join(policies), mesh), api_proxy(**labels))


def test_no_policy_is_permissive() -> None:
    assert effective() == PeerPolicy("PERMISSIVE")


@pytest.mark.parametrize(
    ("mesh", "namespace", "workload", "expected"),
    [
        ("STRICT", None, None, "STRICT"),
        ("STRICT", "PERMISSIVE", None, "PERMISSIVE"),
        ("STRICT", "PERMISSIVE", "DISABLE", "DISABLE"),
        ("STRICT", "UNSET", None, "STRICT"),  # UNSET inherits the mesh-wide mode
        ("STRICT", "UNSET", "UNSET", "STRICT"),
        ("DISABLE", "STRICT", "UNSET", "STRICT"),
        ("UNSET", None, None, "PERMISSIVE"),
        (None, "DISABLE", None, "DISABLE"),
        (None, None, "STRICT", "STRICT"),
        (None, "UNSET", "UNSET", "PERMISSIVE"),
    ],
)
def test_narrowest_scope_that_sets_a_mode_wins(
    mesh: str | None, namespace: str | None, workload: str | None, expected: str
) -> None:
    texts = []
    if mesh:
        texts.append(policy("mesh", "istio-system", mesh))
    if namespace:
        texts.append(policy("ns", "default", namespace))
    if workload:
        texts.append(policy("wl", "default", workload, selector="{app: api}"))
    assert effective(*texts).mode == expected


def test_oldest_policy_of_a_scope_wins() -> None:
    older = policy("zz-old", "default", "STRICT", created="2024-01-01T00:00:00Z")
    newer = policy("aa-new", "default", "DISABLE", created="2024-06-01T00:00:00Z")
    assert effective(newer, older).mode == "STRICT"
    old_wl = policy(
        "b", "default", "DISABLE", created="2023-01-01T00:00:00Z", selector="{app: api}"
    )
    new_wl = policy("a", "default", "STRICT", created="2024-01-01T00:00:00Z", selector="{app: api}")
    assert effective(new_wl, old_wl).mode == "DISABLE"
    # the same creation time: the name decides (Istio sorts by time, then name)
    same_a = policy("a", "default", "STRICT")
    same_b = policy("b", "default", "DISABLE")
    assert effective(same_b, same_a).mode == "STRICT"


def test_selector_policies_apply_to_matching_workloads_of_their_namespace_only() -> None:
    other = policy("wl", "default", "STRICT", selector="{app: other}")
    assert effective(other).mode == "PERMISSIVE"
    elsewhere = policy("wl", "shop", "STRICT", selector="{app: api}")
    assert effective(elsewhere).mode == "PERMISSIVE"
    # a selector policy in the root namespace is not a mesh-wide one, and is ignored
    rooted = policy("wl", "istio-system", "STRICT", selector="{app: api}")
    assert effective(rooted).mode == "PERMISSIVE"


def test_root_namespace_comes_from_mesh_config() -> None:
    mesh = MeshConfig(root_namespace="mesh-root")
    assert effective(policy("m", "mesh-root", "STRICT"), mesh=mesh).mode == "STRICT"
    assert effective(policy("m", "istio-system", "STRICT"), mesh=mesh).mode == "PERMISSIVE"


def test_port_level_modes_are_keyed_by_container_port_and_inherit() -> None:
    found = effective(
        policy("mesh", "istio-system", "DISABLE"),
        policy(
            "wl",
            "default",
            "STRICT",
            selector="{app: api}",
            ports="{8080: {mode: PERMISSIVE}, 5432: {mode: UNSET}}",
        ),
    )
    assert found.mode == "STRICT"
    assert found.for_port(8080) == "PERMISSIVE"  # the target port of service port 80
    assert found.for_port(5432) == "STRICT"  # UNSET: the workload's mode
    assert found.for_port(9000) == "STRICT"
    # without a workload mode, an UNSET port inherits what the workload inherited
    unset = effective(
        policy("mesh", "istio-system", "DISABLE"),
        policy("wl", "default", None, selector="{app: api}", ports="{5432: {mode: UNSET}}"),
    )
    assert (unset.mode, unset.for_port(5432)) == ("DISABLE", "DISABLE")


def test_namespace_mode_for_clients() -> None:
    """Auto mTLS sees only namespace-wide and mesh-wide policies (never workload ones)."""
    assert namespace_mode(snapshot(), "default") is None
    world = snapshot(
        policy("mesh", "istio-system", "STRICT")
        + policy("ns", "shop", "UNSET")
        + policy("plain", "legacy", "DISABLE")
        + policy("wl", "default", "DISABLE", selector="{app: api}")
    )
    assert namespace_mode(world, "default") == "STRICT"  # the mesh-wide mode
    assert namespace_mode(world, "shop") == "STRICT"  # UNSET inherits it
    assert namespace_mode(world, "legacy") == "DISABLE"
    assert namespace_mode(world, "istio-system") == "STRICT"
    only_ns = snapshot(policy("ns", "shop", "UNSET"))
    assert namespace_mode(only_ns, "shop") == "PERMISSIVE"
    assert namespace_mode(only_ns, "default") is None
