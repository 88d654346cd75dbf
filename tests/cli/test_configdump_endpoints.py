"""``sailctl proxy-config endpoint`` rows from Envoy's ``/clusters?format=json``: the EDS health
in STATUS and outlier ejection in OUTLIER CHECK, as istioctl shows them."""

from __future__ import annotations

from sailmesh.cli.configdump import endpoints


def _host(ip: str, **health: object) -> dict[str, object]:
    return {
        "address": {"socket_address": {"address": ip, "port_value": 8080}},
        "health_status": health,
    }


def test_endpoint_rows_show_health_and_outlier_ejection() -> None:
    clusters = {
        "cluster_statuses": [
            {
                "name": "outbound|8080||flaky.default.svc.cluster.local",
                "host_statuses": [
                    _host("10.0.0.3", eds_health_status="HEALTHY", failed_outlier_check=True),
                    _host("10.0.0.2", eds_health_status="HEALTHY"),
                    _host("10.0.0.4", eds_health_status="UNHEALTHY"),
                ],
            },
            {"name": "BlackHoleCluster"},
        ]
    }
    cluster = "outbound|8080||flaky.default.svc.cluster.local"
    assert endpoints(clusters) == [
        ("10.0.0.2:8080", "HEALTHY", "OK", cluster),
        ("10.0.0.3:8080", "HEALTHY", "FAILED", cluster),
        ("10.0.0.4:8080", "UNHEALTHY", "OK", cluster),
    ]
