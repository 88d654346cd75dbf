"""Mode detection, ``--mode`` validation, the explicit-mode environment and hosts rendering."""

from __future__ import annotations

import os

import pytest

from sailmesh.runtime.sandbox import modes
from sailmesh.runtime.sandbox.errors import ModeUnavailable
from sailmesh.runtime.sandbox.hosts import ServiceName, render_hosts
from sailmesh.runtime.sandbox.modes import Mode, detect_mode, parse_mode
from sailmesh.runtime.sandbox.netns import RunNames, Subnet
from sailmesh.runtime.sandbox.pod import EXPLICIT_LIMITS, PodSandbox, PodSpec, explicit_proxy_env


@pytest.mark.parametrize("value", ["netns", "USERNS", " explicit "])
def test_parse_mode_accepts_known_modes(value: str) -> None:
    assert parse_mode(value).value == value.strip().lower()


def test_parse_mode_rejects_unknown_with_choices() -> None:
    with pytest.raises(ValueError, match="auto, netns, userns, explicit"):
        parse_mode("docker")


def test_detect_picks_best_available_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(modes.PROBES, Mode.NETNS, lambda: "needs root")
    monkeypatch.setitem(modes.PROBES, Mode.USERNS, lambda: None)
    report = detect_mode()
    assert report.mode is Mode.USERNS
    assert report.unavailable == {Mode.NETNS: "needs root"}
    assert "userns" in report.describe() and "netns: needs root" in report.describe()


def test_detect_falls_back_to_explicit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(modes.PROBES, Mode.NETNS, lambda: "needs root")
    monkeypatch.setitem(modes.PROBES, Mode.USERNS, lambda: "user namespaces blocked")
    assert detect_mode("auto").mode is Mode.EXPLICIT


def test_override_of_an_unavailable_mode_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(modes.PROBES, Mode.NETNS, lambda: "needs root")
    with pytest.raises(ModeUnavailable, match="netns is not available: needs root"):
        detect_mode("netns")
    assert detect_mode("explicit").mode is Mode.EXPLICIT


def test_real_probes_on_this_machine() -> None:
    report = detect_mode()
    print(report.describe())
    if os.geteuid() == 0 and modes.probe_netns() is None:
        assert report.mode is Mode.NETNS
    if os.geteuid() != 0:
        assert modes.probe_netns() == "needs root (creating network namespaces and iptables rules)"


def test_explicit_env_points_http_proxy_at_the_sidecar() -> None:
    env = explicit_proxy_env(15001, no_proxy=["10.0.0.1"])
    assert env["http_proxy"] == env["HTTP_PROXY"] == "http://127.0.0.1:15001"
    assert env["no_proxy"] == env["NO_PROXY"] == "localhost,127.0.0.1,::1,10.0.0.1"
    pod = PodSandbox(RunNames("abc123"), PodSpec("p", explicit_outbound_port=16001), Mode.EXPLICIT)
    assert pod.environment({"A": "1"})["HTTP_PROXY"] == "http://127.0.0.1:16001"
    assert pod.netns_file is None
    assert any("HTTP only" in limit for limit in EXPLICIT_LIMITS)


def test_userns_pod_sandbox_is_not_implemented_yet() -> None:
    with pytest.raises(Exception, match="userns"):
        PodSandbox(RunNames("abc123"), PodSpec("p"), Mode.USERNS)


def test_hosts_rendering_and_subnet() -> None:
    services = [
        ServiceName("reviews", "default", "10.96.0.10"),
        ServiceName("db", "x", "10.96.0.9"),
    ]
    text = render_hosts("productpage", "10.244.0.3", "default", services)
    assert text.splitlines()[3:] == [
        "10.244.0.3\tproductpage",
        "10.96.0.10\treviews reviews.default reviews.default.svc reviews.default.svc.cluster.local",
        "10.96.0.9\tdb.x db.x.svc db.x.svc.cluster.local",
    ]
    subnet = Subnet("10.244.7.0/24")
    assert (subnet.gateway, subnet.pod_ip(0), subnet.pod_ip(252)) == (
        "10.244.7.1",
        "10.244.7.2",
        "10.244.7.254",
    )
    with pytest.raises(ValueError):
        subnet.pod_ip(253)
    with pytest.raises(ValueError):
        RunNames("../etc")
