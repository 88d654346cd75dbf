"""Service VIP rules for pods without a sidecar (kube-proxy's role), rendered."""

from __future__ import annotations

import re

from sailmesh.runtime.sandbox.servicelb import ServiceBackend, render_service_rules


def _probabilities(script: str) -> list[float]:
    return [float(p) for p in re.findall(r"--probability ([0-9.]+)", script)]


def test_each_endpoint_gets_an_equal_share() -> None:
    backend = ServiceBackend(
        "10.96.0.5", 80, (("10.244.0.2", 8080), ("10.244.0.3", 8080), ("10.244.0.4", 8080))
    )
    script = render_service_rules([backend])
    dnat = [line for line in script.splitlines() if "DNAT" in line]
    assert [line.rsplit(" ", 1)[1] for line in dnat] == [
        "10.244.0.2:8080",
        "10.244.0.3:8080",
        "10.244.0.4:8080",
    ]
    first, second = _probabilities(script)
    # 1/3 take the first; of the rest, 1/2 the second; the last takes what is left
    assert abs(first - 1 / 3) < 1e-9 and abs(second - 1 / 2) < 1e-9
    assert "--probability" not in dnat[-1]
    assert all("-d 10.96.0.5/32 -p tcp --dport 80" in line for line in dnat)


def test_a_port_without_endpoints_is_reset_not_translated() -> None:
    script = render_service_rules([ServiceBackend("10.96.0.9", 9080, (), name="ns/empty:9080")])
    nat, filter_table = script.split("*filter")
    assert "DNAT" not in nat
    (reject,) = [line for line in filter_table.splitlines() if "REJECT" in line]
    assert reject == (
        "-A SAILMESH_SERVICES -d 10.96.0.9/32 -p tcp --dport 9080 -m comment --comment "
        '"ns/empty:9080" -j REJECT --reject-with tcp-reset'
    )


def test_the_script_replaces_nat_and_filter_and_has_no_capture() -> None:
    script = render_service_rules([])
    assert script.count("COMMIT") == 2 and "*nat" in script and "*filter" in script
    assert "-A OUTPUT -p tcp -j SAILMESH_SERVICES" in script
    assert "ISTIO" not in script and "REDIRECT" not in script


def test_rules_come_in_a_stable_order() -> None:
    a = ServiceBackend("10.96.0.2", 80, (("10.244.0.2", 80),))
    b = ServiceBackend("10.96.0.1", 80, (("10.244.0.3", 80),))
    assert render_service_rules([a, b]) == render_service_rules([b, a])
