"""Table tests for meshConfig ``extensionProviders`` validation (an IstioOperator's meshConfig)."""

from __future__ import annotations

from typing import Any

import pytest

from config_support.documents import problems_at
from sailmesh.config.diagnostics import Level
from sailmesh.config.load import load_text

AT = "spec.meshConfig.extensionProviders"
HTTP = {"service": "authz.foo.svc.cluster.local", "port": 8000}


def operator(providers: Any) -> str:
    import json

    return json.dumps(
        {
            "apiVersion": "install.istio.io/v1alpha1",
            "kind": "IstioOperator",
            "metadata": {"name": "mesh", "namespace": "istio-system"},
            "spec": {"meshConfig": {"extensionProviders": providers}},
        }
    )


INVALID: list[tuple[str, Any, str, str]] = [
    ("not a list", {"name": "x"}, AT, "must be a list"),
    ("not a mapping", ["x"], f"{AT}[0]", "is a mapping"),
    ("no name", [{"envoyExtAuthzHttp": HTTP}], f"{AT}[0].name", "required"),
    ("duplicate name", [{"name": "a", "envoyExtAuthzHttp": HTTP}] * 2, f"{AT}[1].name", "duplicate"),
    ("no kind", [{"name": "a"}], f"{AT}[0]", "exactly one kind"),
    ("two kinds", [{"name": "a", "envoyExtAuthzHttp": HTTP, "envoyExtAuthzGrpc": HTTP}], f"{AT}[0]", "exactly one kind"),
    ("no service", [{"name": "a", "envoyExtAuthzGrpc": {"port": 1}}], f"{AT}[0].envoyExtAuthzGrpc.service", "required"),
    ("bad port", [{"name": "a", "envoyExtAuthzHttp": {**HTTP, "port": 0}}], f"{AT}[0].envoyExtAuthzHttp.port", "1 to 65535"),
    ("bad timeout", [{"name": "a", "envoyExtAuthzHttp": {**HTTP, "timeout": "soon"}}], f"{AT}[0].envoyExtAuthzHttp.timeout", "invalid duration"),
    ("bad status", [{"name": "a", "envoyExtAuthzHttp": {**HTTP, "statusOnError": "99"}}], f"{AT}[0].envoyExtAuthzHttp.statusOnError", "invalid HTTP status"),
    ("bad prefix", [{"name": "a", "envoyExtAuthzHttp": {**HTTP, "pathPrefix": "check"}}], f"{AT}[0].envoyExtAuthzHttp.pathPrefix", "start with '/'"),
    ("bad headers", [{"name": "a", "envoyExtAuthzHttp": {**HTTP, "headersToUpstreamOnAllow": "x"}}], f"{AT}[0].envoyExtAuthzHttp.headersToUpstreamOnAllow", "list of header names"),
    ("bad extra headers", [{"name": "a", "envoyExtAuthzHttp": {**HTTP, "includeAdditionalHeadersInCheck": ["x"]}}], f"{AT}[0].envoyExtAuthzHttp.includeAdditionalHeadersInCheck", "map header names"),
    ("bad body size", [{"name": "a", "envoyExtAuthzHttp": {**HTTP, "includeRequestBodyInCheck": {"maxRequestBytes": -1}}}], f"{AT}[0].envoyExtAuthzHttp.includeRequestBodyInCheck.maxRequestBytes", "number of bytes"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "providers", "path", "fragment"), INVALID, ids=[c[0] for c in INVALID]
)
def test_invalid_providers_are_reported_at_their_field(
    case: str, providers: Any, path: str, fragment: str
) -> None:
    found = problems_at(operator(providers), Level.ERROR)
    assert any(p == path and fragment in m for p, m in found), found


def test_valid_providers_load_cleanly() -> None:
    providers = [
        {"name": "http", "envoyExtAuthzHttp": {**HTTP, "timeout": "0.5s", "pathPrefix": "/check",
                                               "statusOnError": "503", "includeRequestHeadersInCheck": ["x-a"],
                                               "includeRequestBodyInCheck": {"maxRequestBytes": 100}}},
        {"name": "grpc", "envoyExtAuthzGrpc": {"service": "foo/authz.foo.svc.cluster.local", "port": 9000}},
        {"name": "otel", "opentelemetry": {"service": "otel.istio-system.svc.cluster.local", "port": 4317}},
    ]  # fmt: skip
    result = load_text(operator(providers))
    assert result.ok and not [p for p in result.problems if p.level is Level.ERROR], result.problems
