"""Golden files of translator output (refresh with ``SAILMESH_UPDATE_GOLDEN=1``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import xds_fixtures as fx
from google.protobuf import json_format
from xds_cases import CASES

from sailmesh.ads.resources import CLUSTER, ENDPOINT, LISTENER, ROUTE
from sailmesh.xds.translate import translate

GOLDEN = Path(__file__).parent / "golden"
SECTIONS = {"clusters": CLUSTER, "endpoints": ENDPOINT, "listeners": LISTENER, "routes": ROUTE}


def render(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        section: {
            name: json_format.MessageToDict(message, preserving_proto_field_name=True)
            for name, message in sorted(resources.get(type_url, {}).items())
        }
        for section, type_url in SECTIONS.items()
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str) -> None:
    output = render(translate(fx.productpage_proxy(), CASES[case]()))
    text = json.dumps(output, indent=1, sort_keys=True) + "\n"
    path = GOLDEN / f"{case}.json"
    if os.environ.get("SAILMESH_UPDATE_GOLDEN") == "1" or not path.exists():
        path.write_text(text)
        if os.environ.get("SAILMESH_UPDATE_GOLDEN") != "1":
            pytest.fail(f"golden file {path.name} was missing and has been written")
    assert json.loads(path.read_text()) == output, (
        f"{path.name} differs; rerun with SAILMESH_UPDATE_GOLDEN=1 if the change is intended"
    )
