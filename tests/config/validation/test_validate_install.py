"""IstioOperator validation of what workload identity reads: ``meshConfig.trustDomain``,
``trustDomainAliases`` and ``defaultConfig.proxyMetadata.SECRET_TTL``."""

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
    ],
)  # fmt: skip
def test_bad_identity_settings_are_errors(mesh_config: str, path: str, words: str) -> None:
    result = load_text(OPERATOR % mesh_config, "mesh.yaml")
    assert not result.ok
    (problem,) = result.problems
    assert path in str(problem) and words in str(problem), str(problem)


def test_good_identity_settings_pass() -> None:
    text = OPERATOR % (
        "{trustDomain: example.org, trustDomainAliases: [old.example.org],"
        " defaultConfig: {proxyMetadata: {SECRET_TTL: 12h}}}"
    )
    assert load_text(text, "mesh.yaml").ok
