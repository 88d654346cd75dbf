"""MeshConfig: Istio's defaults, and reading the MeshConfig YAML shape."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest

from sailmesh.snapshot.mesh import MeshConfig

ISTIO_DEFAULT_RETRY_ON = (
    "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
)


def test_defaults_are_istios() -> None:
    mesh = MeshConfig()
    assert mesh.root_namespace == "istio-system"
    assert mesh.trust_domain == "cluster.local"
    assert mesh.outbound_traffic_policy == "ALLOW_ANY"
    assert mesh.access_log_file is None  # unset: each proxy's default applies
    assert mesh.access_log_encoding == "TEXT" and mesh.access_log_format == ""
    assert mesh.enable_tracing is True
    assert mesh.default_retry_attempts == 2
    assert mesh.default_retry_on == ISTIO_DEFAULT_RETRY_ON
    assert mesh.ingress_class == "istio"


@pytest.mark.parametrize("data", [None, {}])
def test_from_empty_data_gives_the_defaults(data: dict[str, object] | None) -> None:
    assert MeshConfig.from_dict(data) == MeshConfig()


def test_from_dict_reads_istio_field_names() -> None:
    mesh = MeshConfig.from_dict(
        {
            "rootNamespace": "mesh-root",
            "trustDomain": "example.org",
            "outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"},
            "accessLogFile": "/dev/stdout",
            "enableTracing": False,
            "defaultHttpRetryPolicy": {"attempts": 5, "retryOn": "5xx"},
        }
    )
    assert mesh == MeshConfig(
        root_namespace="mesh-root",
        trust_domain="example.org",
        outbound_traffic_policy="REGISTRY_ONLY",
        access_log_file="/dev/stdout",
        enable_tracing=False,
        default_retry_attempts=5,
        default_retry_on="5xx",
    )


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ({"mode": "REGISTRY_ONLY"}, "REGISTRY_ONLY"),
        ({"mode": "ALLOW_ANY"}, "ALLOW_ANY"),
        ({"mode": "BLOCK_EVERYTHING"}, "ALLOW_ANY"),  # unknown modes fall back to the default
        ({}, "ALLOW_ANY"),
        (None, "ALLOW_ANY"),
    ],
)
def test_outbound_traffic_policy(policy: dict[str, str] | None, expected: str) -> None:
    mesh = MeshConfig.from_dict({"outboundTrafficPolicy": policy})
    assert mesh.outbound_traffic_policy == expected


def test_retry_policy_keeps_the_default_predicate_when_only_attempts_are_set() -> None:
    mesh = MeshConfig.from_dict({"defaultHttpRetryPolicy": {"attempts": "0"}})
    assert mesh.default_retry_attempts == 0
    assert mesh.default_retry_on == ISTIO_DEFAULT_RETRY_ON


def test_mesh_config_is_frozen() -> None:
    mesh = MeshConfig()
    with pytest.raises(FrozenInstanceError):
        mesh.root_namespace = "other"  # type: ignore[misc]


def test_access_log_settings_and_file_providers() -> None:
    mesh = MeshConfig.from_dict(
        {
            "accessLogFile": "",
            "accessLogEncoding": "json",
            "accessLogFormat": '{"code": "%RESPONSE_CODE%"}',
            "defaultProviders": {"accessLogging": ["errors"]},
            "extensionProviders": [
                {"name": "errors", "envoyFileAccessLog": {"path": "/tmp/errors.log"}},
                {
                    "name": "json",
                    "envoyFileAccessLog": {"logFormat": {"labels": {"code": "%RESPONSE_CODE%"}}},
                },
                {"name": "otel", "envoyOtelAls": {"service": "x", "port": 4317}},
            ],
        }
    )
    assert mesh.access_log_file == ""  # set: no access log
    assert mesh.access_log_encoding == "JSON"
    assert mesh.default_access_log_providers == ("errors",)
    errors, as_json = mesh.file_log_providers
    assert (errors.name, errors.path, errors.labels_json) == ("errors", "/tmp/errors.log", "")
    assert (as_json.path, as_json.labels_json) == ("/dev/stdout", '{"code": "%RESPONSE_CODE%"}')
