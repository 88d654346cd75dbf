"""Running all analyzers: bookinfo is clean, crashes become IST0001, ``only`` selects one."""

from __future__ import annotations

from pathlib import Path

from config_support.manifests import manifests
from sailmesh.config.analysis import framework
from sailmesh.config.analysis.analyzers import ALL_ANALYZERS
from sailmesh.config.analysis.context import AnalysisContext
from sailmesh.config.analysis.framework import Analyzer
from sailmesh.config.analysis.run import analyze
from sailmesh.config.diagnostics import Level, Problem
from sailmesh.config.load import load_paths, load_text

SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "bookinfo"
BOOKINFO = [
    SAMPLES / "platform",
    SAMPLES / "networking" / "bookinfo-gateway.yaml",
    SAMPLES / "networking" / "destination-rule-all.yaml",
    SAMPLES / "networking" / "virtual-service-all-v1.yaml",
]


def test_analyzer_names_are_unique_and_istio_like() -> None:
    names = [a.name for a in ALL_ANALYZERS]
    assert len(names) == len(set(names))
    assert all("." in n for n in names)
    for expected in (
        "virtualservice.DestinationHostAnalyzer",
        "virtualservice.DestinationRuleAnalyzer",
        "virtualservice.GatewayAnalyzer",
        "virtualservice.ConflictingMeshGatewayHostsAnalyzer",
        "destinationrule.CaCertificateAnalyzer",
        "gateway.ConflictingGatewayAnalyzer",
        "gateway.SecretAnalyzer",
        "sidecar.SelectorAnalyzer",
        "service.PortNameAnalyzer",
        "serviceentry.Analyzer",
        "telemetry.ProviderAnalyzer",
    ):
        assert expected in names


def test_bookinfo_has_only_istios_ingress_subset_warning() -> None:
    """Istio's own IST0140 example: the gateway's route to productpage takes no subset, so the
    ``productpage`` VirtualService's v1 subset does not apply to gateway requests."""
    result = load_paths([str(p) for p in BOOKINFO])
    assert {r.kind for r in result.resources} >= {
        "Service",
        "Deployment",
        "Gateway",
        "VirtualService",
        "DestinationRule",
    }
    found = analyze(result.resources, result.problems)
    assert [(p.code, str(p.ref), p.message) for p in found] == [
        (
            "IST0140",
            "VirtualService default/bookinfo",
            "Subset in virtual service default/productpage has no effect on ingress gateway "
            "default/bookinfo requests",
        )
    ]


def test_bookinfo_with_every_networking_sample_has_no_errors() -> None:
    result = load_paths([str(SAMPLES / "platform"), str(SAMPLES / "networking")])
    found = analyze(result.resources, result.problems)
    assert [framework.format_log(p) for p in found if p.level is Level.ERROR] == []


def test_bookinfo_without_v3_pods_reports_unselected_subset() -> None:
    result = load_paths([str(p) for p in BOOKINFO])
    kept = [r for r in result.resources if r.name != "reviews-v3"]
    found = analyze(kept, result.problems)
    assert [(p.code, str(p.ref)) for p in found if p.code != "IST0140"] == [
        ("IST0173", "DestinationRule default/reviews")
    ]


def test_crashing_analyzer_becomes_internal_error() -> None:
    def boom(ctx: AnalysisContext) -> list[Problem]:
        raise RuntimeError("kaput")

    crashing = Analyzer("test.Crashing", "raises", boom)
    found = analyze([], [], analyzers=[crashing, *ALL_ANALYZERS])
    (p,) = found
    assert p.code == "IST0001" and p.level is Level.ERROR
    assert p.message == "Internal error: analyzer test.Crashing failed: RuntimeError: kaput"


def test_only_runs_one_analyzer_and_load_problems_are_kept() -> None:
    text = manifests("""\
apiVersion: v1
kind: Service
metadata: {name: legacy}
spec:
  ports: [{name: web, port: 80}]
---
ServiceEntry tcp
  hosts: [db.example.com]
  ports: [{number: 5432, name: tcp, protocol: TCP}]
  resolution: DNS
---
VirtualService bad
  hosts: [x]
  http: [{route: [{destination: {host: x}, weight: -1}]}]
""")
    result = load_text(text, "mixed.yaml")
    everything = {p.code for p in analyze(result.resources, result.problems)}
    assert {"IST0106", "IST0118", "IST0134"} <= everything
    only = analyze(result.resources, result.problems, only="service.PortNameAnalyzer")
    assert {p.code for p in only} == {"IST0106", "IST0118"}
