"""The validator registry: which semantic validator checks which kind."""

from __future__ import annotations

import pytest

from sailmesh.config.kinds import all_kinds
from sailmesh.config.validation.registry import validator_for


def test_every_kind_in_the_kind_table_has_a_validator() -> None:
    missing = [k.kind for k in all_kinds() if validator_for(k.group, k.kind) is None]
    assert missing == []


@pytest.mark.parametrize(
    ("group", "kind", "validator"),
    [
        ("networking.istio.io", "VirtualService", "validate_virtual_service"),
        ("networking.istio.io", "Sidecar", "validate_sidecar"),
        ("networking.istio.io", "ProxyConfig", "validate_proxy_config"),
        ("security.istio.io", "AuthorizationPolicy", "validate_authorization_policy"),
        ("security.istio.io", "RequestAuthentication", "validate_request_authentication"),
        ("telemetry.istio.io", "Telemetry", "validate_telemetry"),
        ("", "Pod", "validate_pod"),
        ("apps", "Deployment", "validate_deployment"),
    ],
)
def test_validator_per_group_and_kind(group: str, kind: str, validator: str) -> None:
    found = validator_for(group, kind)
    assert found is not None and found.__name__ == validator


@pytest.mark.parametrize(
    ("group", "kind"),
    [
        ("networking.istio.io", "NoSuchKind"),
        ("security.istio.io", "VirtualService"),
        ("", "Deployment"),
    ],
)
def test_kind_in_another_group_has_no_validator(group: str, kind: str) -> None:
    assert validator_for(group, kind) is None
