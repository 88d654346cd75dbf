"""The meshConfig cluster and visibility defaults: reading them (Istio's defaults when absent or
malformed) and the ``default*ExportTo`` lists deciding what objects without exportTo reach."""

from __future__ import annotations

from test_snapshot import dr, proxy, resources

from sailmesh.registry.model import Service, ServicePort
from sailmesh.registry.registry import compute_view
from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.snapshot.mesh_defaults import TcpKeepalive
from sailmesh.snapshot.snapshot import MeshSnapshot

VS = """---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shared, namespace: default}
spec:
  hosts: [shared]
  exportTo: ["*"]
  http: [{route: [{destination: {host: shared}}]}]
"""


def test_istio_defaults_when_absent() -> None:
    mesh = MeshConfig.from_dict({})
    assert mesh.enable_auto_mtls is True
    assert mesh.connect_timeout_nanos == 10_000_000_000
    assert mesh.tcp_keepalive is None and mesh.h2_upgrade_policy == "DO_NOT_UPGRADE"
    assert mesh.default_service_export_to == ("*",)
    assert mesh.default_virtual_service_export_to == ("*",)
    assert mesh.default_destination_rule_export_to == ("*",)


def test_read_values() -> None:
    mesh = MeshConfig.from_dict(
        {
            "enableAutoMtls": False,
            "connectTimeout": "250ms",
            "tcpKeepalive": {"probes": 4, "time": "1m", "interval": "5s"},
            "h2UpgradePolicy": "UPGRADE",
            "defaultServiceExportTo": ["."],
            "defaultVirtualServiceExportTo": [".", "shop"],
            "defaultDestinationRuleExportTo": ["~"],
        }
    )
    assert mesh.enable_auto_mtls is False
    assert mesh.connect_timeout_nanos == 250_000_000
    assert mesh.tcp_keepalive == TcpKeepalive(probes=4, time_s=60, interval_s=5)
    assert mesh.h2_upgrade_policy == "UPGRADE"
    assert mesh.default_service_export_to == (".",)
    assert mesh.default_virtual_service_export_to == (".", "shop")
    assert mesh.default_destination_rule_export_to == ("~",)


def test_malformed_values_keep_istios_defaults() -> None:
    mesh = MeshConfig.from_dict(
        {"connectTimeout": "soon", "h2UpgradePolicy": "MAYBE", "defaultServiceExportTo": []}
    )
    assert mesh.connect_timeout_nanos == 10_000_000_000
    assert mesh.h2_upgrade_policy == "DO_NOT_UPGRADE"
    assert mesh.default_service_export_to == ("*",)
    assert MeshConfig.from_dict({"connectTimeout": "0s"}).connect_timeout_nanos == 10**10


def _snapshot(text: str, services: list[Service], **mesh: object) -> MeshSnapshot:
    view = compute_view(services, [])
    return MeshSnapshot.build(resources(text), view, MeshConfig.from_dict(mesh))


def test_default_virtual_service_export_to_applies_to_those_without_export_to() -> None:
    snap = _snapshot(VS, [], defaultVirtualServiceExportTo=["."])
    seen = {ns: sorted(v.name for v in snap.virtual_services(ns)) for ns in ("default", "shop")}
    assert seen == {"default": ["reviews", "shared"], "shop": ["shared"]}
    everywhere = _snapshot(VS, [])
    assert sorted(v.name for v in everywhere.virtual_services("shop")) == ["reviews", "shared"]


def test_default_destination_rule_export_to_applies_to_those_without_export_to() -> None:
    text = dr("private", "default", "reviews") + dr("public", "default", "ratings", export_to="'*'")
    snap = _snapshot(text, [], defaultDestinationRuleExportTo=["."])
    hosts = ("reviews.default.svc.cluster.local", "ratings.default.svc.cluster.local")
    mine = [snap.destination_rule("default", h) for h in hosts]
    theirs = [snap.destination_rule("shop", h) for h in hosts]
    assert [r.name if r else None for r in mine] == ["private", "public"]
    assert [r.name if r else None for r in theirs] == [None, "public"]


def test_default_service_export_to_applies_to_services_without_export_to() -> None:
    port = (ServicePort("http", 80, "HTTP"),)
    services = [
        Service("a.default.svc.cluster.local", "default", port, name="a"),
        Service("b.default.svc.cluster.local", "default", port, name="b", export_to=("*",)),
    ]
    snap = _snapshot("", services, defaultServiceExportTo=["."])
    seen = {ns: sorted(s.name for s in snap.services_for(proxy(ns))) for ns in ("default", "shop")}
    assert seen == {"default": ["a", "b"], "shop": ["b"]}
    assert snap.service("a.default.svc.cluster.local", "shop") is None
