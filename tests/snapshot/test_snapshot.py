"""MeshSnapshot: the indexes translation reads, with Istio's visibility and precedence rules."""

from __future__ import annotations

import pytest

from config_support.manifests import manifests
from sailmesh.config.load import load_text
from sailmesh.config.resource import Resource
from sailmesh.registry.model import Service, ServicePort, frozen_map
from sailmesh.registry.registry import compute_view
from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import (
    MESH_GATEWAY,
    MeshSnapshot,
    resolve_gateway_name,
    selector_labels,
)

REVIEWS = "reviews.default.svc.cluster.local"


def resources(text: str) -> list[Resource]:
    loaded = load_text(text)
    assert loaded.ok, loaded.problems
    return loaded.resources


def service(hostname: str, namespace: str, *export_to: str, vip: str | None = None) -> Service:
    return Service(
        hostname=hostname,
        namespace=namespace,
        ports=(ServicePort("http", 9080, "HTTP"),),
        vip=vip,
        name=hostname.split(".")[0],
        export_to=export_to or ("*",),
    )


def proxy(namespace: str = "default", **labels: str) -> Proxy:
    return Proxy("sidecar", "10.0.0.9", "pod-1", namespace, labels=frozen_map(labels))


def snapshot(text: str = "", services: list[Service] | None = None, **mesh: str) -> MeshSnapshot:
    view = compute_view(services or [], [])
    return MeshSnapshot.build(resources(text) if text else [], view, MeshConfig(**mesh))  # type: ignore[arg-type]


def dr(name: str, namespace: str, host: str, created: str = "", export_to: str = "") -> str:
    stamp = f", creationTimestamp: '{created}'" if created else ""
    export = f", exportTo: [{export_to}]" if export_to else ""
    return (
        "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
        f"metadata: {{name: {name}, namespace: {namespace}{stamp}}}\n"
        f"spec: {{host: '{host}'{export}}}\n"
    )


# --- build, ordering, version ------------------------------------------------------------


def test_build_groups_by_kind_oldest_first_then_namespace_and_name() -> None:
    snap = snapshot(
        dr("new", "a", "x", "2024-03-01T00:00:00Z")
        + dr("old", "b", "x", "2024-01-01T00:00:00Z")
        + dr("z", "a", "x")
        + dr("y", "b", "x")
        + dr("x", "b", "x")
    )
    names = [(r.namespace, r.name) for r in snap.of_kind("DestinationRule")]
    # No timestamp sorts first (empty string), then by namespace and name.
    assert names == [("a", "z"), ("b", "x"), ("b", "y"), ("b", "old"), ("a", "new")]
    assert snap.of_kind("VirtualService") == ()
    assert set(snap.configs) == {"DestinationRule"}


def test_configs_are_read_only() -> None:
    snap = snapshot(dr("r", "default", "reviews"))
    with pytest.raises(TypeError):
        snap.configs["VirtualService"] = ()  # type: ignore[index]


def test_version_is_a_content_hash() -> None:
    text = dr("r", "default", "reviews")
    first = snapshot(text)
    second = MeshSnapshot.build(resources(text), first.registry, first.mesh, revision=7)
    assert len(first.version) == 16
    assert first.version == second.version  # the revision is not content
    assert snapshot(dr("r", "default", "ratings")).version != first.version
    assert snapshot(text, services=[service(REVIEWS, "default")]).version != first.version
    assert snapshot(text, root_namespace="other").version != first.version


# --- services ----------------------------------------------------------------------------


def test_services_for_honours_export_to() -> None:
    snap = snapshot(
        services=[
            service("a.default.svc.cluster.local", "default"),
            service("b.default.svc.cluster.local", "default", "."),
            service("c.default.svc.cluster.local", "default", "shop"),
            service("d.default.svc.cluster.local", "default", "~"),
        ]
    )
    seen = {ns: sorted(s.name for s in snap.services_for(proxy(ns))) for ns in ("default", "shop")}
    assert seen == {"default": ["a", "b"], "shop": ["a", "c"]}


def test_services_for_prefers_the_viewers_own_namespace_for_a_hostname() -> None:
    snap = snapshot(
        services=[
            service("api.example.com", "default", vip="1.1.1.1"),
            service("api.example.com", "shop", vip="2.2.2.2"),
        ]
    )
    assert [s.vip for s in snap.services_for(proxy("shop"))] == ["2.2.2.2"]
    assert [s.vip for s in snap.services_for(proxy("default"))] == ["1.1.1.1"]
    assert [s.vip for s in snap.services_for(proxy("other"))] == ["1.1.1.1"]  # first in order


@pytest.mark.parametrize(
    ("viewer", "vip"),
    [("default", "1.1.1.1"), ("shop", "2.2.2.2"), ("other", None)],
)
def test_service_lookup_by_hostname(viewer: str, vip: str | None) -> None:
    snap = snapshot(
        services=[
            service("api.example.com", "default", ".", vip="1.1.1.1"),
            service("api.example.com", "shop", ".", vip="2.2.2.2"),
        ]
    )
    found = snap.service("api.example.com", viewer)
    assert (found.vip if found else None) == vip
    assert snap.service("missing.example.com", "default") is None


# --- VirtualServices ---------------------------------------------------------------------

VIRTUAL_SERVICES = manifests("""
VirtualService default/mesh-only
spec: {hosts: [reviews], http: [{route: [{destination: {host: reviews}}]}]}
---
VirtualService default/both
  hosts: [ratings, api.example.com]
  gateways: [mesh, ingress, istio-system/shared]
  http: [{route: [{destination: {host: ratings}}]}]
---
VirtualService shop/private
  hosts: [cart]
  exportTo: ["."]
  gateways: [gw.istio-system.svc.cluster.local]
  http: [{route: [{destination: {host: cart}}]}]
""")


@pytest.mark.parametrize(
    ("viewer", "gateway", "names"),
    [
        ("default", MESH_GATEWAY, ["both", "mesh-only"]),  # age order, then by name
        ("shop", MESH_GATEWAY, ["both", "mesh-only"]),
        ("default", "default/ingress", ["both"]),
        ("default", "istio-system/shared", ["both"]),
        ("shop", "istio-system/gw", ["private"]),
        ("default", "istio-system/gw", []),  # exportTo "." hides it from other namespaces
        ("default", "ingress", []),  # gateway names are always namespace-qualified here
    ],
)
def test_virtual_services_by_viewer_and_gateway(
    viewer: str, gateway: str, names: list[str]
) -> None:
    snap = snapshot(VIRTUAL_SERVICES)
    assert [vs.name for vs in snap.virtual_services(viewer, gateway)] == names


def test_gateways_and_hosts_of_a_virtual_service() -> None:
    by_name = {vs.name: vs for vs in resources(VIRTUAL_SERVICES)}
    assert MeshSnapshot.gateways_of(by_name["mesh-only"]) == {"mesh"}
    assert MeshSnapshot.gateways_of(by_name["both"]) == {
        "mesh",
        "default/ingress",
        "istio-system/shared",
    }
    assert MeshSnapshot.vs_hosts(by_name["both"]) == [
        "ratings.default.svc.cluster.local",
        "api.example.com",
    ]
    assert MeshSnapshot.vs_hosts(by_name["private"]) == ["cart.shop.svc.cluster.local"]


@pytest.mark.parametrize(
    ("name", "namespace", "expected"),
    [
        ("mesh", "default", "mesh"),
        ("gw", "default", "default/gw"),
        ("istio-system/gw", "default", "istio-system/gw"),
        ("gw.istio-system.svc.cluster.local", "default", "istio-system/gw"),
        ("gw.other", "default", "other/gw"),
    ],
)
def test_resolve_gateway_name(name: str, namespace: str, expected: str) -> None:
    assert resolve_gateway_name(name, namespace) == expected


# --- DestinationRules --------------------------------------------------------------------


def _rules() -> str:
    return (
        dr("root", "istio-system", REVIEWS, "2024-01-01T00:00:00Z")
        + dr("in-service-ns", "default", "reviews", "2024-01-02T00:00:00Z")
        + dr("in-shop", "shop", REVIEWS, "2024-01-03T00:00:00Z")
        + dr("shop-private", "shop", REVIEWS, "2024-01-04T00:00:00Z", export_to="'.'")
        + dr("elsewhere", "team", REVIEWS, "2024-01-05T00:00:00Z")
    )


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        ("shop", "in-shop"),  # the viewer's own namespace first (oldest of its two)
        ("default", "in-service-ns"),  # then the service's namespace
        ("other", "in-service-ns"),
        ("team", "elsewhere"),
    ],
)
def test_destination_rule_precedence_per_viewer_namespace(viewer: str, expected: str) -> None:
    snap = snapshot(_rules(), services=[service(REVIEWS, "default")])
    found = snap.destination_rule(viewer, REVIEWS)
    assert found is not None and found.name == expected


def test_root_namespace_rule_applies_when_nothing_closer_exists() -> None:
    text = dr("root", "istio-system", REVIEWS) + dr("far", "team", REVIEWS)
    snap = snapshot(text, services=[service(REVIEWS, "default")])
    found = snap.destination_rule("shop", REVIEWS)
    assert found is not None and found.name == "root"


def test_rules_from_unrelated_namespaces_apply_last_oldest_first() -> None:
    text = dr("b", "team-b", REVIEWS, "2024-01-02T00:00:00Z") + dr(
        "a", "team-a", REVIEWS, "2024-01-01T00:00:00Z"
    )
    snap = snapshot(text, services=[service(REVIEWS, "default")])
    found = snap.destination_rule("shop", REVIEWS)
    assert found is not None and found.name == "a"


def test_exact_host_beats_wildcard_and_narrower_wildcard_beats_wider() -> None:
    text = (
        dr("any", "default", "*", "2024-01-01T00:00:00Z")
        + dr("wide", "default", "*.com", "2024-01-02T00:00:00Z")
        + dr("narrow", "default", "*.example.com", "2024-01-03T00:00:00Z")
        + dr("exact", "default", "api.example.com", "2024-01-04T00:00:00Z")
    )
    snap = snapshot(text)
    picks = {
        host: getattr(snap.destination_rule("default", host), "name", None)
        for host in ("api.example.com", "web.example.com", "shop.com", "x.org")
    }
    assert picks == {
        "api.example.com": "exact",
        "web.example.com": "narrow",
        "shop.com": "wide",
        "x.org": "any",
    }


def test_no_rule_for_an_unmatched_host() -> None:
    snap = snapshot(dr("r", "default", "reviews"))
    assert snap.destination_rule("default", "ratings.default.svc.cluster.local") is None


def test_rule_lookups_share_one_index_per_viewer_namespace() -> None:
    snap = snapshot(_rules(), services=[service(REVIEWS, "default")])
    snap.destination_rule("shop", REVIEWS)
    snap.destination_rule("shop", "other.example.com")
    snap.destination_rule("team", REVIEWS)
    index = snap._rule_index("shop")
    assert snap._rule_index("shop") is index
    assert set(snap._rule_indexes) == {"shop", "team"}
    assert [dr.name for _, _, dr in index.exact[REVIEWS]] == [
        "root",
        "in-service-ns",
        "in-shop",
        "shop-private",
        "elsewhere",
    ]
    assert index.wildcard == []
    hidden = snap._rule_index("default").exact[REVIEWS]
    assert "shop-private" not in [dr.name for _, _, dr in hidden]


# --- workload-scoped objects -------------------------------------------------------------

SIDECARS = manifests("""
Sidecar default/ns-wide
spec: {egress: [{hosts: ["./*"]}]}
---
Sidecar default/for-reviews
  workloadSelector: {labels: {app: reviews}}
  egress: [{hosts: ["./*"]}]
---
Sidecar istio-system/mesh-default
spec: {egress: [{hosts: ["*/*"]}]}
---
Sidecar istio-system/root-selected
  workloadSelector: {labels: {app: ratings}}
  egress: [{hosts: ["*/*"]}]
""")


@pytest.mark.parametrize(
    ("namespace", "labels", "expected"),
    [
        ("default", {"app": "reviews"}, "for-reviews"),  # a selecting Sidecar first
        ("default", {"app": "ratings"}, "ns-wide"),
        ("shop", {"app": "reviews"}, "mesh-default"),  # the root namespace's default
        ("shop", {"app": "ratings"}, "mesh-default"),  # root selectors are not honoured
    ],
)
def test_sidecar_for(namespace: str, labels: dict[str, str], expected: str) -> None:
    found = snapshot(SIDECARS).sidecar_for(proxy(namespace, **labels))
    assert found is not None and found.name == expected


def test_gateways_have_no_sidecar() -> None:
    """Istio applies Sidecar resources to sidecar proxies only."""
    gateway = Proxy("router", "10.0.0.9", "gw-1", "default", labels=frozen_map({"app": "reviews"}))
    assert snapshot(SIDECARS).sidecar_for(gateway) is None


def test_no_sidecar_without_a_default() -> None:
    snap = snapshot(SIDECARS.split("---")[1])
    assert snap.sidecar_for(proxy("default", app="ratings")) is None


POLICIES = manifests("""
AuthorizationPolicy istio-system/mesh-wide
spec: {}
---
AuthorizationPolicy istio-system/root-selected
spec: {selector: {matchLabels: {app: reviews}}}
---
AuthorizationPolicy default/ns-wide
spec: {}
---
AuthorizationPolicy default/for-reviews
spec: {selector: {matchLabels: {app: reviews}}}
---
AuthorizationPolicy default/empty-selector
spec: {selector: {matchLabels: {}}}
---
AuthorizationPolicy shop/other-ns
spec: {}
""")


@pytest.mark.parametrize(
    ("namespace", "labels", "expected"),
    [
        ("default", {"app": "reviews"}, ["empty-selector", "for-reviews", "ns-wide", "mesh-wide"]),
        ("default", {"app": "ratings"}, ["empty-selector", "ns-wide", "mesh-wide"]),
        ("shop", {"app": "reviews"}, ["other-ns", "mesh-wide"]),
        ("team", {}, ["mesh-wide"]),
    ],
)
def test_policies_for(namespace: str, labels: dict[str, str], expected: list[str]) -> None:
    snap = snapshot(POLICIES)
    found = snap.policies_for("AuthorizationPolicy", proxy(namespace, **labels))
    assert sorted(r.name for r in found) == sorted(expected)
    assert snap.policies_for("PeerAuthentication", proxy(namespace, **labels)) == []


def test_policies_for_uses_the_meshes_root_namespace() -> None:
    snap = snapshot(POLICIES, root_namespace="shop")
    found = snap.policies_for("AuthorizationPolicy", proxy("team"))
    assert [r.name for r in found] == ["other-ns"]


SELECTORS = manifests("""
Gateway istio-system/gw
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
Gateway istio-system/gw-any
  selector: {}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
PeerAuthentication default/pa
spec: {selector: {matchLabels: {app: reviews, version: v1}}, mtls: {mode: STRICT}}
---
PeerAuthentication default/pa-ns
spec: {mtls: {mode: STRICT}}
---
Sidecar default/sc
spec: {workloadSelector: {labels: {app: ratings}}, egress: [{hosts: ["./*"]}]}
""")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gw", {"istio": "ingressgateway"}),  # a Gateway's plain map
        ("gw-any", None),
        ("pa", {"app": "reviews", "version": "v1"}),  # selector.matchLabels
        ("pa-ns", None),
        ("sc", {"app": "ratings"}),  # workloadSelector.labels
    ],
)
def test_selector_labels(name: str, expected: dict[str, str] | None) -> None:
    (found,) = [r for r in resources(SELECTORS) if r.name == name]
    assert selector_labels(found) == expected


def test_selector_labels_of_nothing() -> None:
    assert selector_labels(None) is None


def test_workload_selector_rules_apply_to_selected_workloads_of_their_namespace() -> None:
    selected = dr("selected", "shop", REVIEWS, "2024-01-02T00:00:00Z").replace(
        "spec: {", "spec: {workloadSelector: {matchLabels: {app: cart}}, "
    )
    text = dr("plain", "shop", REVIEWS, "2024-01-01T00:00:00Z") + selected
    snap = snapshot(text, services=[service(REVIEWS, "default")])

    def pick(namespace: str, labels: dict[str, str]) -> str | None:
        return getattr(snap.destination_rule(namespace, REVIEWS, labels), "name", None)

    assert pick("shop", {"app": "cart"}) == "selected"  # beats the older rule without selector
    assert pick("shop", {"app": "web"}) == "plain"
    assert pick("default", {"app": "cart"}) == "plain"  # not in the rule's namespace
