"""Which modes the local runtime runs: netns, userns (when the kernel allows it and the tools
are present) and explicit; a userns that cannot run is refused with the reason, and automatic
detection then falls back to explicit and says why."""

from __future__ import annotations

import pytest

from sailmesh.runtime.host import runtime_mode
from sailmesh.runtime.local import LIMITS
from sailmesh.runtime.sandbox import modes, userns
from sailmesh.runtime.sandbox.errors import ModeUnavailable
from sailmesh.runtime.sandbox.modes import Mode

MISSING = "missing commands: nsenter (Debian packages util-linux, iproute2, iptables)"


def test_userns_requested_runs_when_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(modes.PROBES, Mode.USERNS, lambda: None)
    monkeypatch.setattr(userns, "probe_runtime", lambda: None)
    assert runtime_mode("userns").mode is Mode.USERNS


def test_userns_requested_is_refused_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(modes.PROBES, Mode.USERNS, lambda: None)
    monkeypatch.setattr(userns, "probe_runtime", lambda: MISSING)
    with pytest.raises(ModeUnavailable, match="userns is not available: missing commands: nsenter"):
        runtime_mode("userns")


def no_root_userns_allowed(monkeypatch: pytest.MonkeyPatch, runtime: str | None) -> None:
    """netns needs root (missing), the kernel allows userns, the runtime's own check says
    ``runtime``."""
    monkeypatch.setitem(modes.PROBES, Mode.NETNS, lambda: "needs root")
    monkeypatch.setitem(modes.PROBES, Mode.USERNS, lambda: None)
    monkeypatch.setattr(userns, "probe_runtime", lambda: runtime)


def test_auto_picks_userns_without_root(monkeypatch: pytest.MonkeyPatch) -> None:
    no_root_userns_allowed(monkeypatch, None)
    report = runtime_mode(None)
    assert report.mode is Mode.USERNS
    assert report.unavailable == {Mode.NETNS: "needs root"}


def test_auto_skips_an_unusable_userns_for_explicit(monkeypatch: pytest.MonkeyPatch) -> None:
    no_root_userns_allowed(monkeypatch, MISSING)
    report = runtime_mode(None)
    assert report.mode is Mode.EXPLICIT
    assert report.unavailable == {Mode.NETNS: "needs root", Mode.USERNS: MISSING}
    assert "userns: missing commands: nsenter" in report.describe()


def test_netns_and_explicit_pass_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(modes.PROBES, Mode.NETNS, lambda: None)
    assert runtime_mode(None).mode is Mode.NETNS
    assert runtime_mode("explicit").mode is Mode.EXPLICIT
    assert LIMITS[Mode.NETNS] == () and LIMITS[Mode.EXPLICIT] and LIMITS[Mode.USERNS]
