"""DestinationRule checks: server certificate verification, hosts and subsets that select pods."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sailmesh.config.analysis import messages as msg
from sailmesh.config.analysis.context import AnalysisContext, selector_matches
from sailmesh.config.analysis.framework import Analyzer
from sailmesh.config.diagnostics import Problem

_VERIFYING_MODES = ("SIMPLE", "MUTUAL")


def _unverified(tls: Any, selected: bool) -> str | None:
    """The TLS mode when it originates TLS without a way to verify the server, else None.

    ``credentialName`` reaches sidecars only when the DestinationRule has a
    ``workloadSelector`` (``selected``); without one sidecars keep using the file paths, so it
    verifies nothing there (Istio's rule since 1.23)."""
    mode = str(getattr(tls, "mode", None) or "")
    if tls is None or mode not in _VERIFYING_MODES:
        return None
    if tls.ca_certificates or (selected and getattr(tls, "credential_name", None)):
        return None
    if getattr(tls, "insecure_skip_verify", None):
        return None
    return mode


def _ca_certificates(ctx: AnalysisContext) -> Iterator[Problem]:
    for dr in ctx.of_kind("DestinationRule"):
        spec: Any = dr.spec
        policy = spec.traffic_policy
        if policy is None:
            continue
        name = f"{dr.namespace}/{dr.name}"
        selected = spec.workload_selector is not None
        mode = _unverified(policy.tls, selected)
        if mode:
            yield msg.NO_SERVER_CERT_VERIFICATION_DESTINATION_LEVEL.at(
                dr, name, dr.namespace, mode, spec.host, path="spec.trafficPolicy.tls.mode"
            )
        for i, port_policy in enumerate(policy.port_level_settings or []):
            mode = _unverified(port_policy.tls, selected)
            if mode:
                number = port_policy.port.number if port_policy.port else ""
                path = f"spec.trafficPolicy.portLevelSettings[{i}].tls.mode"
                yield msg.NO_SERVER_CERT_VERIFICATION_PORT_LEVEL.at(
                    dr, name, dr.namespace, mode, spec.host, number, path=path
                )


CA_CERTIFICATE = Analyzer(
    "destinationrule.CaCertificateAnalyzer",
    "Checks if caCertificates is set when TLS mode is SIMPLE/MUTUAL",
    _ca_certificates,
    ("IST0128", "IST0129"),
)


def _subsets(ctx: AnalysisContext) -> Iterator[Problem]:
    if not ctx.has_registry:
        return
    for dr in ctx.of_kind("DestinationRule"):
        spec: Any = dr.spec
        host = str(spec.host or "")
        if host.startswith("*"):
            if not ctx.services_matching(host, dr.namespace):
                yield msg.DESTINATION_RULE_HOST_NOT_FOUND.at(dr, host, path="spec.host")
            continue
        service = ctx.find_service(host, dr.namespace, spec.export_to)
        if service is None:
            yield msg.DESTINATION_RULE_HOST_NOT_FOUND.at(dr, host, path="spec.host")
            continue
        pods = ctx.workloads_of(service)
        if not pods:
            continue  # the service's workloads are not among the inputs: nothing to check
        for i, subset in enumerate(spec.subsets or []):
            labels = dict(subset.labels or {})
            if not any(selector_matches(labels, p.labels) for p in pods):
                path = f"spec.subsets[{i}].name"
                yield msg.DESTINATION_RULE_SUBSET_NOT_SELECT_PODS.at(dr, subset.name, path=path)


POD_NOT_SELECTED = Analyzer(
    "destinationrule.PodNotSelectedAnalyzer",
    "Checks that destination rule hosts exist and that their subsets select pods",
    _subsets,
    ("IST0173", "IST0174"),
)

ANALYZERS = (CA_CERTIFICATE, POD_NOT_SELECTED)
