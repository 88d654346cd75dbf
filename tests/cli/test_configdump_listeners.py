"""``sailctl proxy-config listener`` rows: listeners on Unix sockets (Sidecar ingress or egress
listeners with a ``unix://`` bind) show their socket path instead of an empty address."""

from __future__ import annotations

from typing import Any

from sailmesh.cli.configdump import listeners


def _dump(*found: dict[str, Any]) -> dict[str, Any]:
    section = {
        "@type": "type.googleapis.com/envoy.admin.v3.ListenersConfigDump",
        "dynamic_listeners": [{"active_state": {"listener": lst}} for lst in found],
    }
    return {"configs": [section]}


def test_unix_socket_and_ip_listeners() -> None:
    chain = {"filters": [{"typed_config": {"cluster": "outbound|8080||third.default.svc"}}]}
    rows = listeners(
        _dump(
            {"address": {"pipe": {"path": "@sailmesh-egress"}}, "filter_chains": [chain]},
            {
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": 7272}},
                "filter_chains": [chain],
            },
        )
    )
    assert rows == [
        ("unix://@sailmesh-egress", "-", "ALL", "Cluster: outbound|8080||third.default.svc"),
        ("127.0.0.1", "7272", "ALL", "Cluster: outbound|8080||third.default.svc"),
    ]
