"""The annotation analyzers, one row per message: a positive input (the message, with its
level, resource, text and the annotation's line) and a negative one, shaped like Istio's
``misannotated.yaml`` test input (plain manifests, no namespace meaning ``default``); and the
whole of that input, giving the messages Istio's own analyzer test expects of it."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from config_support.analysis_inputs import analyze_text, of
from sailmesh.config.analysis.analyzers import ALL_ANALYZERS, OPT_IN_ANALYZERS
from sailmesh.config.analysis.analyzers.annotation_table import ANNOTATIONS, in_istio_domain
from sailmesh.config.analysis.analyzers.annotation_values import CHECKS, problem
from sailmesh.config.diagnostics import Level

ALPHA = "annotations.AlphaAnalyzer"


def service(annotations: str) -> str:
    return (
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: httpbin\n  annotations:\n"
        f"{annotations}spec:\n  selector: {{app: httpbin}}\n"
        "  ports: [{name: http, port: 8000, targetPort: 80}]\n"
    )


def pod(annotations: str, labels: str = "", init: bool = False) -> str:
    extra = f"  labels: {{{labels}}}\n" if labels else ""
    inits = "  initContainers: [{name: istio-init, image: proxy}]\n" if init else ""
    return (
        f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n{extra}  annotations:\n"
        f"{annotations}spec:\n  containers: [{{name: web, image: web}}]\n{inits}"
    )


def deployment(annotations: str, template: str = "") -> str:
    meta = f"  annotations:\n{annotations}" if annotations else ""
    indented = "".join(f"    {ln}\n" for ln in template.splitlines())
    tmeta = f"      annotations:\n{indented}" if template else ""
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: fortio-deploy\n{meta}"
        "spec:\n  selector: {matchLabels: {app: fortio}}\n  template:\n    metadata:\n"
        f"      labels: {{app: fortio}}\n{tmeta}"
        "    spec: {containers: [{name: fortio, image: fortio}]}\n"
    )


def namespace(annotations: str) -> str:
    return (
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: staging\n"
        f"  labels: {{istio-injection: enabled}}\n  annotations:\n{annotations}"
    )


def line(key: str, value: str) -> str:
    return f"    {key}: {json.dumps(value)}\n"


@dataclass(frozen=True)
class Case:
    code: str
    level: Level
    resource: str
    message: str
    positive: str
    negative: str
    line: int
    only: str | None = None


CASES = [
    Case(
        "IST0108",
        Level.WARNING,
        "Service default/httpbin",
        "Unknown annotation: networking.istio.io/exportThree",
        service(line("networking.istio.io/exportThree", "bar")),
        service(line("networking.istio.io/exportTo", ".") + line("kubernetes.io/psp", "any")),
        6,
    ),
    Case(
        "IST0107",
        Level.WARNING,
        "Pod default/web",
        "Misplaced annotation: kubernetes.io/ingress.class can only be applied to Ingress",
        pod(line("proxy.istio.io/config", "{}") + line("kubernetes.io/ingress.class", "istio")),
        pod(line("proxy.istio.io/config", "{}") + line("helm.sh/hook", "test-success")),
        7,
    ),
    Case(
        "IST0107",
        Level.WARNING,
        "Deployment default/fortio-deploy",
        "Misplaced annotation: sidecar.istio.io/proxyCPU can only be applied to Pod",
        deployment(line("sidecar.istio.io/proxyCPU", "100m")),
        deployment("", line("sidecar.istio.io/proxyCPU", "100m")),
        6,
    ),
    Case(
        "IST0107",
        Level.WARNING,
        "Namespace staging",
        "Misplaced annotation: networking.istio.io/exportTo can only be applied to Service",
        namespace(line("networking.istio.io/exportTo", ".")),
        namespace(line("galley.istio.io/analyze-suppress", "IST0102")),
        7,
    ),
    Case(
        "IST0125",
        Level.WARNING,
        "Pod default/web",
        "Invalid annotation readiness.status.sidecar.istio.io/initialDelaySeconds: 'bar' is not "
        "an unsigned 32-bit integer",
        pod(line("readiness.status.sidecar.istio.io/initialDelaySeconds", "bar")),
        pod(line("readiness.status.sidecar.istio.io/initialDelaySeconds", "10")),
        6,
    ),
    Case(
        "IST0125",
        Level.WARNING,
        "Pod default/web",
        "Invalid annotation traffic.sidecar.istio.io/excludeOutboundIPRanges: excludeIPRanges "
        "invalid: failed parsing cidr '10.0.0.1': no prefix length",
        pod(line("traffic.sidecar.istio.io/excludeOutboundIPRanges", "10.0.0.0/8,10.0.0.1")),
        pod(line("traffic.sidecar.istio.io/excludeOutboundIPRanges", "10.0.0.0/8,10.0.0.1/32")),
        6,
    ),
    Case(
        "IST0125",
        Level.WARNING,
        "Deployment default/fortio-deploy",
        "Invalid annotation sidecar.istio.io/interceptionMode: interceptionMode invalid, use "
        "REDIRECT,TPROXY,NONE: MAGIC",
        deployment("", line("sidecar.istio.io/interceptionMode", "MAGIC")),
        deployment("", line("sidecar.istio.io/interceptionMode", "TPROXY")),
        11,
    ),
    Case(
        "IST0135",
        Level.INFO,
        "Deployment default/fortio-deploy",
        'Annotation "sidecar.istio.io/statsInclusionPrefixes" has been deprecated and may not '
        "work in future Istio versions.",
        deployment(line("sidecar.istio.io/statsInclusionPrefixes", "cluster.outbound")),
        deployment("", line("sidecar.istio.io/statsHistogramBuckets", '{"istiocustom":[1,5]}')),
        6,
    ),
    Case(
        "IST0135",
        Level.INFO,
        "Pod default/web",
        'Annotation "sidecar.istio.io/inject" has been deprecated in favor of the '
        '"sidecar.istio.io/inject" label and may not work in future Istio versions.',
        pod(line("sidecar.istio.io/inject", "true")),
        pod(line("sidecar.istio.io/inject", "true"), labels="sidecar.istio.io/inject: 'true'"),
        6,
    ),
    Case(
        "IST0136",
        Level.INFO,
        "Service default/httpbin",
        'Annotation "networking.istio.io/exportTo" is part of an alpha-phase feature and may be '
        "incompletely supported.",
        service(line("networking.istio.io/exportTo", ".")),
        service(line("traffic.istio.io/nodeSelector", "zone=a")),
        6,
        only=ALPHA,
    ),
    Case(
        "IST0136",
        Level.INFO,
        "Pod default/web",
        'Annotation "sidecar.istio.io/interceptionMode" is part of an alpha-phase feature and '
        "may be incompletely supported.",
        pod(line("sidecar.istio.io/interceptionMode", "REDIRECT"), init=True),
        pod(
            line("sidecar.istio.io/interceptionMode", "REDIRECT")
            + line("proxy.istio.io/config", "{}")
        ),
        6,
        only=ALPHA,
    ),
]


def _id(case: Case) -> str:
    return f"{case.code}-{case.resource.split()[0]}-{CASES.index(case)}"


def _run(case: Case, text: str) -> list[tuple[str, Level, str, int | None]]:
    found = of(analyze_text(text, "case.yaml", only=case.only), case.code)
    return [(str(p.ref), p.level, p.message, p.source.line if p.source else None) for p in found]


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_positive(case: Case) -> None:
    assert _run(case, case.positive) == [(case.resource, case.level, case.message, case.line)]


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_negative(case: Case) -> None:
    assert _run(case, case.negative) == []


MISANNOTATED = (
    service(
        line("networking.istio.io/exportThree", "bar") + line("networking.istio.io/exportTo", "baz")
    )
    + "---\n"
    + pod(
        line("readiness.status.sidecar.istio.io/initialDelaySeconds", "bar")
        + line("readiness.status.sidecar.istio.io/periodSeconds", "10")
    ).replace("name: web\n", "name: invalid-annotations\n")
    + "---\n"
    + pod(
        line("proxy.istio.io/config", "{}") + line("kubernetes.io/ingress.class", "istio")
    ).replace("name: web\n", "name: grafana-test\n")
    + "---\n"
    + deployment(line("sidecar.istio.io/statsInclusionPrefixes", "cluster.outbound"))
    + "---\n"
    + namespace(line("kubernetes.io/ingress.class", "foo"))
)


def test_istio_misannotated_input() -> None:
    """Istio's analyzer test grid for its ``misannotated.yaml``: the same codes on the same
    resources, from both analyzers."""
    found = [
        (p.code, str(p.ref))
        for p in analyze_text(MISANNOTATED, "m.yaml", "annotations.K8sAnalyzer")
    ]
    assert sorted(found) == sorted(
        [
            ("IST0108", "Service default/httpbin"),
            ("IST0125", "Pod default/invalid-annotations"),
            ("IST0107", "Pod default/grafana-test"),
            ("IST0107", "Deployment default/fortio-deploy"),
            ("IST0107", "Namespace staging"),
            ("IST0135", "Deployment default/fortio-deploy"),
        ]
    )
    alpha = [(p.code, str(p.ref)) for p in analyze_text(MISANNOTATED, "m.yaml", ALPHA)]
    assert sorted(alpha) == sorted(
        [
            ("IST0136", "Deployment default/fortio-deploy"),
            ("IST0136", "Pod default/invalid-annotations"),
            ("IST0136", "Pod default/invalid-annotations"),
            ("IST0136", "Service default/httpbin"),
        ]
    )


def test_alpha_analyzer_is_opt_in_like_istioctl() -> None:
    assert ALPHA not in {a.name for a in ALL_ANALYZERS}
    assert ALPHA in {a.name for a in OPT_IN_ANALYZERS}
    assert of(analyze_text(MISANNOTATED, "m.yaml"), "IST0136") == []


def test_table_is_in_istio_domain_and_every_check_has_an_entry() -> None:
    names = {a.name for a in ANNOTATIONS}
    assert len(names) == len(ANNOTATIONS)
    assert all(in_istio_domain(n) for n in names)
    assert set(CHECKS) <= names
    assert not in_istio_domain("helm.sh/hook") and not in_istio_domain("sailmesh.io/redacted")


@pytest.mark.parametrize(
    ("name", "good", "bad"),
    [
        ("status.sidecar.istio.io/port", "15020", "65536"),
        ("traffic.sidecar.istio.io/includeInboundPorts", "*", "80,http"),
        ("traffic.sidecar.istio.io/includeOutboundIPRanges", "*", "10.0.0.0/33"),
        ("traffic.sidecar.istio.io/excludeInboundPorts", " 15020, 15021 ", "-1"),
        ("prometheus.istio.io/merge-metrics", "false", "nope"),
        ("proxy.istio.io/config", "holdApplicationUntilProxyStarts: true", "[1, 2]"),
    ],
)
def test_value_checks(name: str, good: str, bad: str) -> None:
    assert problem(name, good) is None
    assert problem(name, bad)
