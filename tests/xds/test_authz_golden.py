"""Golden files of the authorization filters (RBAC, ext_authz) of a sidecar's HTTP, TCP and
passthrough inbound chains and of a gateway listener (refresh with ``SAILMESH_UPDATE_GOLDEN=1``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from authz_cases import CASES, GATEWAY, gateway_authz, sidecar_authz, world

GOLDEN = Path(__file__).parent / "golden" / "authz"


def check(name: str, output: dict[str, Any]) -> None:
    text = json.dumps(output, indent=1, sort_keys=True) + "\n"
    path = GOLDEN / f"{name}.json"
    if os.environ.get("SAILMESH_UPDATE_GOLDEN") == "1" or not path.exists():
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text)
        if os.environ.get("SAILMESH_UPDATE_GOLDEN") != "1":
            pytest.fail(f"golden file {path.name} was missing and has been written")
    assert json.loads(path.read_text()) == output, (
        f"{path.name} differs; rerun with SAILMESH_UPDATE_GOLDEN=1 if the change is intended"
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_sidecar_golden(case: str) -> None:
    check(case, sidecar_authz(CASES[case]()))


def test_gateway_golden() -> None:
    check("gateway", gateway_authz(world(GATEWAY)))
