"""A platform to analyze config against, and helpers to run the analyzers and read messages."""

from __future__ import annotations

from sailmesh.config.analysis.run import analyze
from sailmesh.config.diagnostics import Level, Problem
from sailmesh.config.load import load_text

REVIEWS_SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: reviews}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
"""

REVIEWS_V1 = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v1}
spec:
  selector: {matchLabels: {app: reviews, version: v1}}
  template:
    metadata: {labels: {app: reviews, version: v1}}
    spec: {containers: [{name: app, image: x}]}
"""

INGRESS_GATEWAY_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: ingressgateway, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  template:
    metadata: {labels: {istio: ingressgateway}}
    spec: {containers: [{name: istio-proxy, image: auto}]}
"""


def ingress_gateway_service(ports: str) -> str:
    """The ingress gateway's Service in istio-system; ``ports`` is the YAML after ``ports:``."""
    return f"""\
apiVersion: v1
kind: Service
metadata: {{name: ingressgateway, namespace: istio-system, labels: {{istio: ingressgateway}}}}
spec:
  selector: {{istio: ingressgateway}}
  ports:{ports}"""


def documents(*docs: str) -> str:
    """Documents (each ending in a newline) joined into one multi-document YAML text."""
    return "---\n".join(docs)


def analyze_text(text: str, file: str, only: str | None = None) -> list[Problem]:
    """Load ``text`` (it must load without errors) and analyze it, as ``istioctl analyze``."""
    result = load_text(text, file)
    errors = [p for p in result.problems if p.level is Level.ERROR]
    assert not errors, errors
    return analyze(result.resources, result.problems, only=only)


def line(text: str, needle: str, occurrence: int = 1) -> int:
    """The line number of the ``occurrence``-th line of ``text`` containing ``needle``."""
    hits = [i for i, ln in enumerate(text.splitlines(), 1) if needle in ln]
    return hits[occurrence - 1]


def of(problems: list[Problem], code: str) -> list[Problem]:
    """The messages with one IST code."""
    return [p for p in problems if p.code == code]


def line_in(file: str, p: Problem) -> int:
    """The line a message points at, checking it names ``file``."""
    assert p.source is not None and p.source.file == file
    return p.source.line
