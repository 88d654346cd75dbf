"""The analysis context: host resolution, wildcard matching, services, workloads, selectors."""

from __future__ import annotations

from config_support.manifests import manifests
from sailmesh.config.analysis.context import (
    AnalysisContext,
    fqdn,
    host_matches,
    selector_matches,
    selector_string,
    split_namespaced,
)
from sailmesh.config.load import load_text

PLATFORM = manifests("""\
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
Service shop/reviews
  selector: {app: reviews}
  ports:
  - {name: http, port: 9080, targetPort: 9080}
  - {name: grpc, port: 9090}
---
apiVersion: v1
kind: Service
metadata:
  name: private
  namespace: shop
  annotations: {networking.istio.io/exportTo: "."}
spec:
  ports: [{name: http, port: 80}]
---
Deployment shop/reviews-v1
  selector: {matchLabels: {app: reviews, version: v1}}
  template:
    metadata: {labels: {app: reviews, version: v1}}
    spec:
      serviceAccountName: bookinfo-reviews
      containers: [{name: app, image: x}]
---
Deployment shop/reviews-v0
  replicas: 0
  selector: {matchLabels: {app: reviews, version: v0}}
  template:
    metadata: {labels: {app: reviews, version: v0}}
    spec:
      containers: [{name: app, image: x}]
---
apiVersion: v1
kind: Pod
metadata: {name: curl, namespace: other, labels: {app: curl}}
spec:
  containers: [{name: curl, image: curl}]
""")


def _ctx(text: str = PLATFORM) -> AnalysisContext:
    result = load_text(text, "ctx.yaml")
    assert not [p for p in result.problems if p.level.name == "ERROR"], result.problems
    return AnalysisContext(result.resources)


def test_fqdn_expands_short_names_only() -> None:
    assert fqdn("reviews", "shop") == "reviews.shop.svc.cluster.local"
    assert fqdn("reviews.shop.svc.cluster.local", "x") == "reviews.shop.svc.cluster.local"
    assert fqdn("*.example.com", "x") == "*.example.com"
    assert fqdn("httpbin.org", "x") == "httpbin.org"


def test_host_matching_like_istio() -> None:
    assert host_matches("*", "reviews.shop.svc.cluster.local")
    assert host_matches("*.example.com", "api.example.com")
    assert host_matches("api.example.com", "*.example.com")
    assert host_matches("*.example.com", "*.api.example.com")
    assert not host_matches("*.example.com", "example.org")
    assert not host_matches("a.example.com", "b.example.com")


def test_selectors() -> None:
    assert selector_matches({"app": "a"}, {"app": "a", "version": "v1"})
    assert not selector_matches({"app": "a", "version": "v2"}, {"app": "a", "version": "v1"})
    assert selector_matches(None, {"app": "a"})
    assert selector_string({"version": "v1", "app": "a"}) == "app=a,version=v1"
    assert split_namespaced("istio-system/gw", "default") == ("istio-system", "gw")
    assert split_namespaced("gw", "default") == ("default", "gw")


def test_services_and_ports_from_kubernetes_services() -> None:
    ctx = _ctx()
    svc = ctx.find_service("reviews", "shop")
    assert svc is not None and svc.host == "reviews.shop.svc.cluster.local"
    assert [(p.number, p.name) for p in svc.ports] == [(9080, "http"), (9090, "grpc")]
    assert ctx.find_service("reviews.shop.svc.cluster.local", "other") is svc
    assert ctx.find_service("reviews", "other") is None  # short name resolves in "other"


def test_two_label_host_resolves_when_namespace_known() -> None:
    ctx = _ctx()
    assert ctx.resolve_host("reviews.shop", "other") == "reviews.shop.svc.cluster.local"
    assert ctx.resolve_host("httpbin.org", "other") == "httpbin.org"


def test_export_to_annotation_limits_visibility() -> None:
    ctx = _ctx()
    assert ctx.find_service("private", "shop") is not None
    assert ctx.find_service("private.shop.svc.cluster.local", "other") is None


MESH_DEFAULTS = """
---
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {name: mesh, namespace: istio-system}
spec:
  meshConfig:
    defaultServiceExportTo: ["."]
    defaultVirtualServiceExportTo: [".", other]
    defaultDestinationRuleExportTo: ["~"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec: {hosts: [reviews], http: [{route: [{destination: {host: reviews}}]}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec: {host: reviews}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: public, namespace: shop}
spec: {host: reviews, exportTo: ["*"]}
"""


def test_mesh_default_export_to_applies_to_objects_without_export_to() -> None:
    ctx = _ctx(PLATFORM + MESH_DEFAULTS)
    assert ctx.find_service("reviews.shop.svc.cluster.local", "other") is None
    assert ctx.find_service("reviews", "shop") is not None
    vs = ctx.get("VirtualService", "shop", "reviews")
    private, public = (
        ctx.get("DestinationRule", "shop", "reviews"),
        ctx.get("DestinationRule", "shop", "public"),
    )
    assert vs is not None and private is not None and public is not None
    assert [ctx.exported_to(vs, ns) for ns in ("shop", "other", "third")] == [True, True, False]
    assert not ctx.exported_to(private, "shop") and ctx.exported_to(public, "third")
    plain = _ctx(PLATFORM)
    assert plain.find_service("reviews.shop.svc.cluster.local", "other") is not None


def test_workloads_from_deployments_and_pods() -> None:
    ctx = _ctx()
    names = {(w.namespace, w.name) for w in ctx.workloads}
    assert names == {("shop", "reviews-v1"), ("other", "curl")}  # replicas: 0 is no workload
    (v1,) = ctx.workloads_matching({"app": "reviews"}, "shop")
    assert v1.service_account == "bookinfo-reviews"
    assert v1.labels["version"] == "v1"
    assert ctx.workloads_matching({"app": "reviews"}, "other") == []
    assert {"shop", "other", "istio-system"} <= ctx.namespaces
