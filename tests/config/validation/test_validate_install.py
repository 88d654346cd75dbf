"""IstioOperator validation of the meshConfig fields sailmesh reads: workload identity
(``trustDomain``, ``trustDomainAliases``, ``defaultConfig.proxyMetadata.SECRET_TTL``) and the
cluster and visibility defaults; errors name the file and the field path."""

from __future__ import annotations

import pytest

from sailmesh.config.load import load_text

OPERATOR = """
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {name: mesh, namespace: istio-system}
spec:
  meshConfig: %s
"""


@pytest.mark.parametrize(
    ("mesh_config", "path", "words"),
    [
        ("{trustDomain: Example.ORG}", "spec.meshConfig.trustDomain", "not a trust domain"),
        ("{trustDomain: a..b}", "spec.meshConfig.trustDomain", "not a trust domain"),
        ("{trustDomainAliases: [ok.org, 'bad domain']}", "spec.meshConfig.trustDomainAliases[1]", "not a trust domain"),
        ("{trustDomainAliases: old.org}", "spec.meshConfig.trustDomainAliases", "list"),
        ("{defaultConfig: {proxyMetadata: {SECRET_TTL: soon}}}", "spec.meshConfig.defaultConfig.proxyMetadata.SECRET_TTL", "invalid duration"),
        ("{defaultConfig: {proxyMetadata: {SECRET_TTL: 500ms}}}", "spec.meshConfig.defaultConfig.proxyMetadata.SECRET_TTL", "at least 1s"),
        ("{defaultConfig: {proxyMetadata: {SECRET_TTL: 2400h}}}", "spec.meshConfig.defaultConfig.proxyMetadata.SECRET_TTL", "90 days"),
        ("{enableAutoMtls: 'no'}", "spec.meshConfig.enableAutoMtls", "not true or false"),
        ("{connectTimeout: soon}", "spec.meshConfig.connectTimeout", "invalid duration"),
        ("{connectTimeout: 0s}", "spec.meshConfig.connectTimeout", "at least 1ms"),
        ("{tcpKeepalive: 5}", "spec.meshConfig.tcpKeepalive", "mapping"),
        ("{tcpKeepalive: {time: 100ms}}", "spec.meshConfig.tcpKeepalive.time", "at least 1000ms"),
        ("{tcpKeepalive: {probes: -1}}", "spec.meshConfig.tcpKeepalive.probes", "not a count"),
        ("{tcpKeepalive: {idle: 1s}}", "spec.meshConfig.tcpKeepalive.idle", "unknown field"),
        ("{h2UpgradePolicy: DEFAULT}", "spec.meshConfig.h2UpgradePolicy", "not one of"),
        ("{defaultServiceExportTo: '.'}", "spec.meshConfig.defaultServiceExportTo", "list"),
        ("{defaultVirtualServiceExportTo: ['~', '.']}", "spec.meshConfig.defaultVirtualServiceExportTo", "cannot be combined"),
    ],
)  # fmt: skip
def test_bad_mesh_settings_are_errors(mesh_config: str, path: str, words: str) -> None:
    result = load_text(OPERATOR % mesh_config, "mesh.yaml")
    assert not result.ok
    (problem,) = result.problems
    text = str(problem)
    assert path in text and words in text and "mesh.yaml" in text, text


def test_good_identity_settings_pass() -> None:
    text = OPERATOR % (
        "{trustDomain: example.org, trustDomainAliases: [old.example.org],"
        " defaultConfig: {proxyMetadata: {SECRET_TTL: 12h}}}"
    )
    assert load_text(text, "mesh.yaml").ok


def test_good_mesh_settings_pass() -> None:
    text = OPERATOR % (
        "{enableAutoMtls: false, connectTimeout: 1s, h2UpgradePolicy: UPGRADE,"
        " tcpKeepalive: {probes: 3, time: 60s, interval: 10s},"
        " defaultServiceExportTo: ['*'], defaultVirtualServiceExportTo: ['.'],"
        " defaultDestinationRuleExportTo: ['.', istio-system]}"
    )
    result = load_text(text, "mesh.yaml")
    assert result.ok, result.problems
