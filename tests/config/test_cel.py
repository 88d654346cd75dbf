"""CEL expressions of the Telemetry API: which ones the data plane can evaluate, and the
Envoy formats of tag override values (:mod:`sailmesh.telemetry.tags`)."""

from __future__ import annotations

import pytest

from sailmesh.config.cel import filter_expression, supported, tag_supported
from sailmesh.telemetry.tags import TagValue, tag_value


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("'literal'", TagValue("literal")),
        ('"double"', TagValue("double")),
        ("request.headers['x-user']", TagValue("%REQ(x-user)%")),
        ("request.headers['x-user'] | 'anonymous'", TagValue("%REQ(x-user)%", "anonymous")),
        ("request.host", TagValue("%REQ(:AUTHORITY)%")),
        ("request.method", TagValue("%REQ(:METHOD)%")),
        ("response.code", TagValue("%RESPONSE_CODE%")),
        ("request.url_path", TagValue("%CEL(request.url_path)%")),
        ("string(destination.port)", TagValue("%CEL(string(destination.port))%")),
        (
            "response.code >= 400 ? 'error' : 'ok'",
            TagValue("%CEL(response.code >= 400 ? 'error' : 'ok')%"),
        ),
    ],
)
def test_tag_values_envoy_can_compute(expression: str, expected: TagValue) -> None:
    assert tag_value(expression) == expected
    assert tag_supported(expression)


@pytest.mark.parametrize(
    "expression",
    [
        "upstream_peer.labels['app'].value",  # Istio's own attribute: Envoy has none
        "node.metadata['X']",
        "%{REQUEST_HEADERS['x-payment-method']}",  # not CEL
        "request.headers['x'] | fallback",  # the default must be a literal
        "request.headers['x'",  # unbalanced
        "'%REQ(x)%'",  # a command operator smuggled into a literal
        "",
    ],
)
def test_expressions_envoy_cannot_compute_are_refused(expression: str) -> None:
    assert tag_value(expression) is None
    assert not tag_supported(expression)


def test_filters() -> None:
    assert filter_expression(" response.code >= 400 ") == "response.code >= 400"
    assert filter_expression("response.code >= 400 && request.method == 'GET'")
    assert filter_expression("response.code | 200") is None  # Istio's default operator
    assert not supported("response.code >= (400")
    assert supported("has(request.headers.x)")
