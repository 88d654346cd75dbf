"""Which modes the local runtime runs: userns is refused (not supported yet) with the reason,
automatic detection falls back to explicit and says why."""

from __future__ import annotations

import pytest

from sailmesh.runtime.local import LIMITS
from sailmesh.runtime.mesh import USERNS_UNSUPPORTED, runtime_mode
from sailmesh.runtime.sandbox import modes
from sailmesh.runtime.sandbox.errors import ModeUnavailable
from sailmesh.runtime.sandbox.modes import Mode


def test_userns_requested_is_refused_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(modes.PROBES, Mode.USERNS, lambda: None)
    with pytest.raises(ModeUnavailable, match="does not run pods in user namespaces yet"):
        runtime_mode("userns")


def test_auto_skips_userns_for_explicit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(modes.PROBES, Mode.NETNS, lambda: "needs root")
    monkeypatch.setitem(modes.PROBES, Mode.USERNS, lambda: None)
    report = runtime_mode(None)
    assert report.mode is Mode.EXPLICIT
    assert report.unavailable == {Mode.NETNS: "needs root", Mode.USERNS: USERNS_UNSUPPORTED}
    assert "userns: the local runtime does not run pods" in report.describe()


def test_netns_and_explicit_pass_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(modes.PROBES, Mode.NETNS, lambda: None)
    assert runtime_mode(None).mode is Mode.NETNS
    assert runtime_mode("explicit").mode is Mode.EXPLICIT
    assert LIMITS[Mode.NETNS] == () and LIMITS[Mode.EXPLICIT]
