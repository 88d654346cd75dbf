"""Troubleshooting verbs offline: every verb loads, log-level arguments, Envoy version parsing,
and the pods of a running mesh as analysis inputs."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from sailmesh.app.mesh_inputs import mesh_resources
from sailmesh.app.versions import envoy_version
from sailmesh.cli.experimental import SUBCOMMANDS, x
from sailmesh.cli.main import VERBS, cli
from sailmesh.cli.proxylog import log_query


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_every_verb_has_help(verb: str) -> None:
    result = CliRunner().invoke(cli, [verb, "--help"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("sub", sorted(SUBCOMMANDS))
def test_every_x_verb_has_help(sub: str) -> None:
    result = CliRunner().invoke(x, [sub, "--help"])
    assert result.exit_code == 0, result.output


def test_log_levels_as_istioctl_takes_them() -> None:
    assert log_query(None, False) is None
    assert log_query("debug", False) == "level=debug"
    assert log_query("warn", False) == "level=warning"
    assert log_query("router:debug, http:info", False) == "paths=router:debug,http:info"
    assert log_query("debug", True) == "level=warning"
    with pytest.raises(click.BadParameter, match="unknown level 'loud'"):
        log_query("router:loud", False)
    with pytest.raises(click.BadParameter, match="LOGGER:LEVEL"):
        log_query(":debug", False)


def test_envoy_version_from_server_info() -> None:
    info = {"version": "9e5580933739/1.40.0/Clean/RELEASE/BoringSSL"}
    assert envoy_version(info) == ("1.40.0", "9e5580933739/Clean/RELEASE/BoringSSL")
    assert envoy_version({}) == ("unknown", "")


def test_running_pods_become_pods_with_their_containers() -> None:
    rows = [
        {
            "namespace": "default",
            "name": "reviews-v1-0",
            "labels": {"app": "reviews", "version": "v1"},
            "serviceAccount": "bookinfo-reviews",
            "containers": [{"name": "istio-proxy"}, {"name": "reviews"}],
            "sidecar": True,
        },
        {"namespace": "default", "name": "broken-0", "containers": [], "sidecar": True},
    ]
    resources, problems = mesh_resources([], rows)
    assert problems == []
    running, failed = resources
    assert running.labels == {"app": "reviews", "version": "v1"} and running.source is None
    assert [c.name for c in running.spec.containers] == ["istio-proxy", "reviews"]
    assert running.spec.service_account_name == "bookinfo-reviews"
    assert [c.name for c in failed.spec.containers] == ["istio-proxy"]  # what its plan asked


def test_analyze_against_a_mesh_config_file(tmp_path: Path) -> None:
    """Istio's --meshConfigFile: a default access-log provider makes an empty Telemetry
    provider list fine (IST0157 only without it)."""
    telemetry = tmp_path / "telemetry.yaml"
    telemetry.write_text(
        "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: logs}\n"
        "spec:\n  accessLogging: [{}]\n"
    )
    mesh = tmp_path / "mesh.yaml"
    mesh.write_text("defaultProviders:\n  accessLogging: [envoy]\n")
    without = CliRunner().invoke(cli, ["analyze", str(telemetry)])
    assert "Warning [IST0157] (Telemetry default/logs" in without.output
    result = CliRunner().invoke(cli, ["analyze", str(telemetry), "--meshConfigFile", str(mesh)])
    assert result.exit_code == 0 and "IST0157" not in result.output, result.output
    mesh.write_text("- not a mapping\n")
    result = CliRunner().invoke(cli, ["analyze", str(telemetry), "--meshConfigFile", str(mesh)])
    assert result.exit_code == 2 and "a MeshConfig is a mapping" in result.output
