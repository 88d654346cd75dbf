"""Fixtures for the bookinfo sample tests: one launcher of sample processes per test module,
stopping everything it started."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bookinfo_harness import Launcher, launching


@pytest.fixture(scope="module")
def launcher(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Launcher]:
    name = request.module.__name__.rpartition(".")[2].removeprefix("test_bookinfo_")
    yield from launching(tmp_path_factory, f"bookinfo-{name}")
