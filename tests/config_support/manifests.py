"""Test YAML with one short header line per document in place of the envelope.

A document may begin with ``Kind name`` or ``Kind namespace/name``; :func:`manifests` writes
that line back as the three lines every object repeats::

    apiVersion: networking.istio.io/v1        <- the version served for Kind
    kind: VirtualService
    metadata: {name: reviews, namespace: default}
    spec:                                     <- when the next lines are indented

so the tests spell out only what differs between their documents. Any other line is kept
as written (documents with other versions or richer metadata are written out in full), and
the text keeps its line numbers where the problems a test expects point at them.
"""

from __future__ import annotations

import re

API_VERSIONS = {
    **dict.fromkeys(
        (
            "VirtualService",
            "DestinationRule",
            "Gateway",
            "ServiceEntry",
            "Sidecar",
            "WorkloadEntry",
            "WorkloadGroup",
            "EnvoyFilter",
            "ProxyConfig",
        ),
        "networking.istio.io/v1",
    ),
    **dict.fromkeys(
        ("PeerAuthentication", "AuthorizationPolicy", "RequestAuthentication"),
        "security.istio.io/v1",
    ),
    "Telemetry": "telemetry.istio.io/v1",
    "IstioOperator": "install.istio.io/v1alpha1",
    "Deployment": "apps/v1",
    **dict.fromkeys(("Service", "Namespace", "ConfigMap", "Secret", "ServiceAccount", "Pod"), "v1"),
}

_HEADER = re.compile(r"^([A-Z][A-Za-z]+) (?:([a-z0-9][-a-z0-9.]*)/)?([a-z0-9*][-a-z0-9.*]*)$")


def manifests(text: str) -> str:
    """``text`` with each document's ``Kind [namespace/]name`` line written out in full."""
    out: list[str] = []
    starts_document = True
    lines = text.split("\n")
    for i, line in enumerate(lines):
        match = _HEADER.match(line) if starts_document else None
        if match and match.group(1) in API_VERSIONS:
            kind, namespace, name = match.groups()
            meta = f"name: {name}" + (f", namespace: {namespace}" if namespace else "")
            out += [f"apiVersion: {API_VERSIONS[kind]}", f"kind: {kind}", f"metadata: {{{meta}}}"]
            if i + 1 < len(lines) and lines[i + 1].startswith("  "):
                out.append("spec:")
        else:
            out.append(line)
        if line.strip():
            starts_document = line == "---"
    return "\n".join(out)
