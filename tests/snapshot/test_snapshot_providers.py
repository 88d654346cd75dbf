"""meshConfig ``extensionProviders`` read for external authorization
(:mod:`sailmesh.snapshot.providers`)."""

from __future__ import annotations

from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.snapshot.providers import ExtAuthzProvider, RequestBody, parse_duration


def test_http_and_grpc_providers_are_read_with_every_field() -> None:
    mesh = MeshConfig.from_dict(
        {
            "extensionProviders": [
                {"name": "zipkin", "zipkin": {"service": "zipkin.istio-system", "port": 9411}},
                {
                    "name": "http",
                    "envoyExtAuthzHttp": {
                        "service": "foo/authz.foo.svc.cluster.local",
                        "port": "8000",
                        "timeout": "250ms",
                        "pathPrefix": "/check",
                        "failOpen": True,
                        "statusOnError": "503",
                        "clearRouteCache": True,
                        "includeHeadersInCheck": ["x-a"],
                        "includeAdditionalHeadersInCheck": {"x-b": "1"},
                        "headersToUpstreamOnAllow": ["x-c"],
                        "headersToDownstreamOnDeny": ["x-d"],
                        "headersToDownstreamOnAllow": ["x-e"],
                        "includeRequestBodyInCheck": {"maxRequestBytes": 10, "packAsBytes": True},
                    },
                },
                {"name": "grpc", "envoyExtAuthzGrpc": {"service": "authz.foo.svc.cluster.local", "port": 9000}},
            ]
        }
    )  # fmt: skip
    assert mesh.extension_providers == (
        ExtAuthzProvider(
            name="http",
            kind="http",
            service="foo/authz.foo.svc.cluster.local",
            port=8000,
            timeout_seconds=0.25,
            path_prefix="/check",
            fail_open=True,
            status_on_error=503,
            clear_route_cache=True,
            include_request_headers_in_check=("x-a",),
            include_additional_headers_in_check=(("x-b", "1"),),
            headers_to_upstream_on_allow=("x-c",),
            headers_to_downstream_on_deny=("x-d",),
            headers_to_downstream_on_allow=("x-e",),
            request_body=RequestBody(max_request_bytes=10, pack_as_bytes=True),
        ),
        ExtAuthzProvider(
            name="grpc", kind="grpc", service="authz.foo.svc.cluster.local", port=9000
        ),
    )
    http = mesh.ext_authz_provider("http")
    assert http is not None and (http.namespace, http.hostname) == (
        "foo",
        "authz.foo.svc.cluster.local",
    )
    assert mesh.ext_authz_provider("zipkin") is None


def test_malformed_entries_are_left_out_without_raising() -> None:
    mesh = MeshConfig.from_dict(
        {
            "extensionProviders": [
                "not a mapping",
                {"envoyExtAuthzHttp": {"service": "a", "port": 1}},
                {"name": "no-port", "envoyExtAuthzHttp": {"service": "a"}},
                {"name": "bad-port", "envoyExtAuthzGrpc": {"service": "a", "port": 70000}},
                {
                    "name": "ok",
                    "envoyExtAuthzGrpc": {"service": "a", "port": 1, "statusOnError": "x"},
                },
                {"name": "ok", "envoyExtAuthzGrpc": {"service": "second", "port": 2}},
            ]
        }
    )
    assert [(p.name, p.service, p.status_on_error) for p in mesh.extension_providers] == [
        ("ok", "a", None)
    ]
    assert MeshConfig.from_dict({"extensionProviders": "nope"}).extension_providers == ()


def test_durations() -> None:
    assert [parse_duration(v) for v in ("1s", "0.5s", "200ms", "2m", "1h", "5", None)] == [
        1.0, 0.5, 0.2, 120.0, 3600.0, None, None]  # fmt: skip


def test_trust_domain_aliases_are_read() -> None:
    mesh = MeshConfig.from_dict({"trustDomain": "example.org", "trustDomainAliases": ["old.org"]})
    assert (mesh.trust_domain, mesh.trust_domain_aliases) == ("example.org", ("old.org",))
