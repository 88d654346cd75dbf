"""Shared CA test material: a manual clock and CAs made at its time (EC keys: fast)."""

from __future__ import annotations

import pytest

from sailmesh.ca.authority import self_signed_root
from sailmesh.ca.material import CaMaterial
from sailmesh.clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def root(clock: ManualClock) -> CaMaterial:
    return self_signed_root("cluster.local", clock.wall())
