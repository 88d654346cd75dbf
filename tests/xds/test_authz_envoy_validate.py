"""Real Envoy accepts every authorization case's listeners (``envoy --mode validate``)."""

from __future__ import annotations

from pathlib import Path

import xds_fixtures as fx
from authz_cases import CASES, GATEWAY, ROUTER, world
from xds_envoy_static import assert_envoy_accepts

from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.xds.translate import translate


def validate(proxy: Proxy, snapshot: MeshSnapshot, tmp_path: Path) -> None:
    assert_envoy_accepts(translate(proxy, snapshot), tmp_path, required=True)  # type: ignore[arg-type]


def test_envoy_accepts_every_case(tmp_path: Path) -> None:
    for name in sorted(CASES):
        validate(fx.productpage_proxy(), CASES[name](), tmp_path)


def test_envoy_accepts_gateway_policies(tmp_path: Path) -> None:
    validate(ROUTER, world(GATEWAY), tmp_path)
