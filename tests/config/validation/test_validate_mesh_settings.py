"""IstioOperator validation of the meshConfig cluster and visibility defaults sailmesh applies:
errors name the file and the field path."""

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


def test_good_mesh_settings_pass() -> None:
    text = OPERATOR % (
        "{enableAutoMtls: false, connectTimeout: 1s, h2UpgradePolicy: UPGRADE,"
        " tcpKeepalive: {probes: 3, time: 60s, interval: 10s},"
        " defaultServiceExportTo: ['*'], defaultVirtualServiceExportTo: ['.'],"
        " defaultDestinationRuleExportTo: ['.', istio-system]}"
    )
    result = load_text(text, "mesh.yaml")
    assert result.ok, result.problems
