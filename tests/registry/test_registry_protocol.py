"""Istio's protocol selection for service ports: appProtocol first, then the port name prefix."""

from __future__ import annotations

import pytest

from sailmesh.registry.protocol import infer_protocol, parse_protocol


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("HTTP", "HTTP"),
        ("http", "HTTP"),
        (" Http2 ", "HTTP2"),
        ("grpc-web", "GRPC-WEB"),
        ("TLS", "TLS"),
        ("h2c", "HTTP2"),
        ("kubernetes.io/h2c", "HTTP2"),
        ("kubernetes.io/ws", "HTTP"),
        ("kubernetes.io/wss", "HTTPS"),
        ("mongo", "MONGO"),
        ("quic", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_protocol(value: str | None, expected: str | None) -> None:
    assert parse_protocol(value) == expected


@pytest.mark.parametrize(
    ("name", "app_protocol", "transport", "expected"),
    [
        ("http", None, "TCP", "HTTP"),
        ("http-web", None, "TCP", "HTTP"),  # the prefix before the first dash
        ("HTTP2-api", None, "TCP", "HTTP2"),
        ("grpc-web-ui", None, "TCP", "GRPC-WEB"),  # grpc-web is matched before splitting
        ("grpc-api", None, "TCP", "GRPC"),
        ("tcp-db", None, "TCP", "TCP"),
        ("web", None, "TCP", "AUTO"),  # unknown prefix: protocol sniffing
        ("", None, "TCP", "AUTO"),
        (None, None, "TCP", "AUTO"),
        ("http", "grpc", "TCP", "GRPC"),  # appProtocol wins over the name
        ("http", "kubernetes.io/h2c", "TCP", "HTTP2"),
        ("grpc", "unknown-thing", "TCP", "GRPC"),  # an unknown appProtocol is ignored
        ("http", None, "UDP", "UDP"),  # a UDP port is UDP whatever its name
        ("http", "http", "udp", "UDP"),
        ("http", None, None, "HTTP"),  # missing transport means TCP
    ],
)
def test_infer_protocol(
    name: str | None, app_protocol: str | None, transport: str | None, expected: str
) -> None:
    assert infer_protocol(name, app_protocol, transport) == expected
