"""Fixtures for the ADS tests (``tests/`` is on pytest's pythonpath for ``e2e_support``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from e2e_support import proxy
from e2e_support.ads_thread import AdsThread
from e2e_support.backend import Backend
from sailmesh.ads.cache import SnapshotCache
from sailmesh.runtime.envoy import EnvoyProcess
from sailmesh.xds.bootstrap import XdsAddress


@pytest.fixture
def ads() -> Iterator[AdsThread]:
    thread = AdsThread(SnapshotCache())
    thread.start()
    try:
        yield thread
    finally:
        thread.close()


@pytest.fixture
def backends() -> Iterator[dict[str, int]]:
    with Backend("v1") as v1, Backend("v2") as v2:
        yield {"v1": v1.port, "v2": v2.port}


@pytest.fixture
def start_envoy(tmp_path: Path) -> Iterator[Callable[..., EnvoyProcess]]:
    """Start Envoys connected to an ADS port; each is stopped by pid at teardown."""
    started: list[EnvoyProcess] = []

    def start(ads_port: int | XdsAddress, *, delta: bool = False) -> EnvoyProcess:
        workdir = tmp_path / f"envoy{len(started)}"
        workdir.mkdir()
        envoy = proxy.start_envoy(workdir, ads_port, delta=delta)
        started.append(envoy)
        return envoy

    try:
        yield start
    finally:
        for envoy in started:
            envoy.stop()
