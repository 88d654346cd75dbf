"""Per-proxy translation options: the default access log path and gateway ports."""

from __future__ import annotations

import pytest

from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.xds.options import DEFAULT_OPTIONS, TranslateOptions


@pytest.mark.parametrize(
    ("path", "mesh_file", "expected"),
    [
        (None, None, ""),  # neither the proxy nor the mesh asks for a log
        ("/dev/stdout", None, "/dev/stdout"),  # the proxy's default (the local runtime's)
        (None, "/dev/stdout", "/dev/stdout"),
        ("/dev/stdout", "", ""),  # the mesh turns logs off
        ("/tmp/access.log", "/dev/stdout", "/dev/stdout"),  # the mesh's file wins
    ],
)
def test_log_path(path: str | None, mesh_file: str | None, expected: str) -> None:
    options = TranslateOptions(access_log_path=path)
    assert options.log_path(MeshConfig(access_log_file=mesh_file)) == expected


def test_gateway_listen_port_substitutes_taken_ports() -> None:
    options = TranslateOptions(gateway_ports=((80, 18080), (443, 18443)))
    assert [options.gateway_listen_port(p) for p in (80, 443, 8080)] == [18080, 18443, 8080]
    assert DEFAULT_OPTIONS.gateway_listen_port(80) == 80


def test_defaults() -> None:
    assert DEFAULT_OPTIONS.explicit_port == 15001
    assert DEFAULT_OPTIONS.protocol_detection_timeout_nanos == 0
    assert DEFAULT_OPTIONS.gateway_bind is None
    assert DEFAULT_OPTIONS.access_log_path is None
