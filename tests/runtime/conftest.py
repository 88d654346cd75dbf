"""Fixtures for the sandbox tests: per-test runs that must leave nothing behind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sandbox_helpers import leftovers

from sailmesh.runtime.sandbox import netns
from sailmesh.runtime.sandbox.modes import probe_netns

_RUN_IDS: list[str] = []


@pytest.fixture
def netns_available() -> None:
    """Skip (with the concrete reason) where netns mode cannot run."""
    why = probe_netns()
    if why is not None:
        pytest.skip(f"netns mode unavailable: {why}")


def _fresh_run() -> Iterator[netns.RunNames]:
    names = netns.RunNames(netns.new_run_id())
    _RUN_IDS.append(names.run_id)
    try:
        yield names
    finally:
        netns.cleanup(names.run_id)
    assert leftovers(names.run_id) == []


@pytest.fixture
def explicit_names() -> Iterator[netns.RunNames]:
    """A fresh run for explicit mode (no namespaces), checked to leave nothing behind."""
    yield from _fresh_run()


@pytest.fixture
def run_names(netns_available: None) -> Iterator[netns.RunNames]:
    """A fresh run; afterwards it is cleaned up and checked to have left nothing."""
    yield from _fresh_run()


@pytest.fixture(scope="session", autouse=True)
def _no_leftovers_at_session_end() -> Iterator[None]:
    yield
    left = [item for run_id in _RUN_IDS for item in leftovers(run_id)]
    for run_id in _RUN_IDS:
        netns.cleanup(run_id)
    assert left == [], f"sandbox runs left state behind: {left}"
