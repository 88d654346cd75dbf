"""Table tests for Gateway and Sidecar validation."""

from __future__ import annotations

from typing import Any

import pytest

from config_support.documents import assert_rejected, networking_doc
from sailmesh.config.diagnostics import Level
from sailmesh.config.load import load_text


def _doc(kind: str, spec: dict[str, Any], version: str = "v1") -> str:
    return networking_doc(kind, spec, version)


def _http(**extra: Any) -> dict[str, Any]:
    return {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"], **extra}


def _https(tls: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    server: dict[str, Any] = {
        "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
        "hosts": ["a.com"],
        **extra,
    }
    if tls is not None:
        server["tls"] = tls
    return server


def _gw(*servers: dict[str, Any]) -> dict[str, Any]:
    return {"selector": {"istio": "ingressgateway"}, "servers": list(servers)}


GATEWAY_INVALID = [
    ("no servers", {"selector": {"istio": "ingressgateway"}}, "spec.servers", "required"),
    (
        "selector",
        {"selector": {"istio": "in gress"}, "servers": [_http()]},
        "spec.selector.istio",
        "invalid label value",
    ),
    ("port missing", _gw({"hosts": ["*"]}), "spec.servers[0].port", "required"),
    (
        "port number",
        _gw(_http(port={"number": 0, "name": "h", "protocol": "HTTP"})),
        "spec.servers[0].port.number",
        "1..65535",
    ),
    (
        "port protocol",
        _gw(_http(port={"number": 80, "name": "h", "protocol": "FTP"})),
        "spec.servers[0].port.protocol",
        "unsupported protocol",
    ),
    (
        "port protocol missing",
        _gw(_http(port={"number": 80, "name": "h"})),
        "spec.servers[0].port.protocol",
        "required",
    ),
    (
        "port name",
        _gw(_http(port={"number": 80, "protocol": "HTTP"})),
        "spec.servers[0].port.name",
        "required",
    ),
    (
        "dup port names",
        _gw(_http(), _http(port={"number": 81, "name": "http", "protocol": "HTTP"})),
        "spec.servers[1].port.name",
        "duplicate port name",
    ),
    (
        "hosts missing",
        _gw({"port": {"number": 80, "name": "http", "protocol": "HTTP"}}),
        "spec.servers[0].hosts",
        "required",
    ),
    ("host bad", _gw(_http(hosts=["a..com"])), "spec.servers[0].hosts[0]", "invalid host"),
    ("host ns empty", _gw(_http(hosts=["/a.com"])), "spec.servers[0].hosts[0]", "cannot be empty"),
    ("host ns tilde", _gw(_http(hosts=["~/a.com"])), "spec.servers[0].hosts[0]", "namespace"),
    (
        "host ns bad",
        _gw(_http(hosts=["Prod/a.com"])),
        "spec.servers[0].hosts[0]",
        "invalid namespace",
    ),
    ("bind", _gw(_http(bind="localhost")), "spec.servers[0].bind", "invalid bind"),
    ("https without tls", _gw(_https(None)), "spec.servers[0].tls", "needs tls"),
    (
        "tls on http",
        _gw(_http(tls={"mode": "SIMPLE", "credentialName": "c"})),
        "spec.servers[0].tls",
        "only allowed on HTTPS or TLS",
    ),
    (
        "simple no cert",
        _gw(_https({"mode": "SIMPLE"})),
        "spec.servers[0].tls.serverCertificate",
        "credentialName",
    ),
    (
        "simple no key",
        _gw(_https({"mode": "SIMPLE", "serverCertificate": "/c.pem"})),
        "spec.servers[0].tls.privateKey",
        "privateKey",
    ),
    (
        "mutual no ca",
        _gw(_https({"mode": "MUTUAL", "serverCertificate": "/c", "privateKey": "/k"})),
        "spec.servers[0].tls.caCertificates",
        "caCertificates",
    ),
    (
        "credential and cert",
        _gw(_https({"mode": "SIMPLE", "credentialName": "c", "serverCertificate": "/c"})),
        "spec.servers[0].tls.serverCertificate",
        "cannot be combined",
    ),
    (
        "istio mutual cert",
        _gw(_https({"mode": "ISTIO_MUTUAL", "credentialName": "c"})),
        "spec.servers[0].tls.credentialName",
        "ISTIO_MUTUAL",
    ),
    (
        "credentialName and Names",
        _gw(_https({"mode": "SIMPLE", "credentialName": "a", "credentialNames": ["b"]})),
        "spec.servers[0].tls.credentialNames",
        "only one",
    ),
    (
        "tls versions",
        _gw(
            _https(
                {
                    "mode": "SIMPLE",
                    "credentialName": "c",
                    "minProtocolVersion": "TLSV1_3",
                    "maxProtocolVersion": "TLSV1_2",
                }
            )
        ),
        "spec.servers[0].tls.maxProtocolVersion",
        "lower",
    ),
    (
        "tls mode enum",
        _gw(_https({"mode": "STRICT"})),
        "spec.servers[0].tls.mode",
        "must be one of",
    ),
    (
        "auto passthrough https",
        _gw(_https({"mode": "AUTO_PASSTHROUGH"})),
        "spec.servers[0].tls.mode",
        "protocol TLS",
    ),
    (
        "redirect field",
        _gw(_http(redirect={"httpsRedirect": True})),
        "spec.servers[0].redirect",
        "unknown field",
    ),
]

SIDECAR_INVALID = [
    (
        "selector empty",
        {"workloadSelector": {"labels": {}}},
        "spec.workloadSelector.labels",
        "at least one label",
    ),
    (
        "egress hosts missing",
        {"egress": [{"port": {"number": 80, "protocol": "HTTP"}}]},
        "spec.egress[0].hosts",
        "required",
    ),
    (
        "egress host form",
        {"egress": [{"hosts": ["reviews"]}]},
        "spec.egress[0].hosts[0]",
        "namespace/dnsName",
    ),
    (
        "egress host ns",
        {"egress": [{"hosts": ["Bad/x"]}]},
        "spec.egress[0].hosts[0]",
        "invalid namespace",
    ),
    (
        "egress host name",
        {"egress": [{"hosts": ["./a..b"]}]},
        "spec.egress[0].hosts[0]",
        "invalid host",
    ),
    (
        "egress protocol",
        {"egress": [{"port": {"number": 80, "protocol": "XYZ"}, "hosts": ["./*"]}]},
        "spec.egress[0].port.protocol",
        "unsupported",
    ),
    (
        "two catch-all",
        {"egress": [{"hosts": ["./*"]}, {"hosts": ["*/*"]}]},
        "spec.egress[1]",
        "only one egress listener",
    ),
    (
        "catch-all not last",
        {
            "egress": [
                {"hosts": ["./*"]},
                {"port": {"number": 80, "protocol": "HTTP"}, "hosts": ["./*"]},
            ]
        },
        "spec.egress[0]",
        "last",
    ),
    (
        "unix bind capture",
        {"egress": [{"bind": "unix:///var/run/x.sock", "hosts": ["./*"]}]},
        "spec.egress[0].captureMode",
        "NONE",
    ),
    (
        "ingress port",
        {"ingress": [{"defaultEndpoint": "127.0.0.1:8080"}]},
        "spec.ingress[0].port",
        "required",
    ),
    (
        "ingress port range",
        {"ingress": [{"port": {"number": 70000, "protocol": "HTTP"}}]},
        "spec.ingress[0].port.number",
        "1..65535",
    ),
    (
        "default endpoint",
        {
            "ingress": [
                {"port": {"number": 9080, "protocol": "HTTP"}, "defaultEndpoint": "10.0.0.1:8080"}
            ]
        },
        "spec.ingress[0].defaultEndpoint",
        "127.0.0.1:<port>",
    ),
    (
        "duplicate ports",
        {
            "ingress": [
                {"port": {"number": 9080, "protocol": "HTTP"}},
                {"port": {"number": 9080, "protocol": "HTTP"}},
            ]
        },
        "spec.ingress[1].port.number",
        "already used",
    ),
    (
        "ingress tls mode",
        {
            "ingress": [
                {"port": {"number": 9080, "protocol": "HTTPS"}, "tls": {"mode": "ISTIO_MUTUAL"}}
            ]
        },
        "spec.ingress[0].tls.mode",
        "not supported on sidecar ingress",
    ),
    (
        "ingress tls cert",
        {"ingress": [{"port": {"number": 9080, "protocol": "HTTPS"}, "tls": {"mode": "SIMPLE"}}]},
        "spec.ingress[0].tls.serverCertificate",
        "needs",
    ),
    (
        "capture enum",
        {"ingress": [{"port": {"number": 9080, "protocol": "HTTP"}, "captureMode": "ALL"}]},
        "spec.ingress[0].captureMode",
        "must be one of",
    ),
    (
        "outbound mode",
        {"outboundTrafficPolicy": {"mode": "DENY"}},
        "spec.outboundTrafficPolicy.mode",
        "must be one of",
    ),
    (
        "egress proxy mode",
        {
            "outboundTrafficPolicy": {
                "mode": "REGISTRY_ONLY",
                "egressProxy": {
                    "host": "egress.istio-system.svc.cluster.local",
                    "port": {"number": 80},
                },
            }
        },
        "spec.outboundTrafficPolicy.egressProxy",
        "ALLOW_ANY",
    ),
    (
        "egress proxy port",
        {"outboundTrafficPolicy": {"mode": "ALLOW_ANY", "egressProxy": {"host": "egress"}}},
        "spec.outboundTrafficPolicy.egressProxy.port.number",
        "required",
    ),
    (
        "inbound pool",
        {"inboundConnectionPool": {"http": {"maxRetries": -1}}},
        "spec.inboundConnectionPool.http.maxRetries",
        "negative",
    ),
]


@pytest.mark.parametrize(
    ("kind", "spec", "path", "fragment"),
    [
        *[pytest.param("Gateway", s, p, f, id=f"gateway-{n}") for n, s, p, f in GATEWAY_INVALID],
        *[pytest.param("Sidecar", s, p, f, id=f"sidecar-{n}") for n, s, p, f in SIDECAR_INVALID],
    ],
)
def test_invalid(kind: str, spec: dict[str, Any], path: str, fragment: str) -> None:
    assert_rejected(_doc(kind, spec), path, fragment)


VALID = [
    (
        "Gateway",
        "http redirect",
        _gw(_http(hosts=["my-app.example.com"], tls={"httpsRedirect": True})),
    ),
    (
        "Gateway",
        "https secret",
        _gw(
            _https(
                {
                    "mode": "SIMPLE",
                    "credentialName": "my-tls",
                    "minProtocolVersion": "TLSV1_2",
                    "cipherSuites": ["ECDHE-RSA-AES256-GCM-SHA384"],
                }
            )
        ),
    ),
    (
        "Gateway",
        "https files",
        _gw(
            _https(
                {
                    "mode": "MUTUAL",
                    "serverCertificate": "/c.pem",
                    "privateKey": "/k.pem",
                    "caCertificates": "/ca.pem",
                    "subjectAltNames": ["client"],
                }
            )
        ),
    ),
    (
        "Gateway",
        "tls certificates",
        _gw(
            _https(
                {
                    "mode": "SIMPLE",
                    "tlsCertificates": [
                        {"serverCertificate": "/rsa.pem", "privateKey": "/rsa.key"},
                        {"serverCertificate": "/ec.pem", "privateKey": "/ec.key"},
                    ],
                }
            )
        ),
    ),
    (
        "Gateway",
        "passthrough",
        _gw(
            {
                "port": {"number": 443, "name": "tls", "protocol": "TLS"},
                "hosts": ["*/*.example.com", "./b.com", "prod/c.com"],
                "tls": {"mode": "PASSTHROUGH"},
            }
        ),
    ),
    (
        "Gateway",
        "auto passthrough",
        _gw(
            {
                "port": {"number": 15443, "name": "tls", "protocol": "TLS"},
                "hosts": ["*.local"],
                "tls": {"mode": "AUTO_PASSTHROUGH"},
            }
        ),
    ),
    (
        "Gateway",
        "istio mutual",
        _gw(
            {
                "port": {"number": 443, "name": "tls-istio", "protocol": "TLS"},
                "hosts": ["*"],
                "tls": {"mode": "ISTIO_MUTUAL"},
            }
        ),
    ),
    (
        "Gateway",
        "grpc and tcp",
        _gw(
            {
                "port": {"number": 9090, "name": "grpc", "protocol": "grpc"},
                "hosts": ["*"],
                "name": "grpc-server",
            },
            {
                "port": {"number": 31400, "name": "tcp", "protocol": "TCP"},
                "hosts": ["*"],
                "bind": "0.0.0.0",
            },
        ),
    ),
    ("Sidecar", "default", {"egress": [{"hosts": ["./*", "istio-system/*"]}]}),
    (
        "Sidecar",
        "full",
        {
            "workloadSelector": {"labels": {"app": "ratings"}},
            "ingress": [
                {
                    "port": {"number": 9080, "protocol": "HTTP", "name": "somename"},
                    "defaultEndpoint": "127.0.0.1:8080",
                    "captureMode": "IPTABLES",
                    "connectionPool": {"http": {"http1MaxPendingRequests": 10}},
                },
                {
                    "port": {"number": 9443, "protocol": "HTTPS", "name": "tls"},
                    "defaultEndpoint": "unix:///var/run/app.sock",
                    "tls": {"mode": "SIMPLE", "privateKey": "/k", "serverCertificate": "/c"},
                },
            ],
            "egress": [
                {
                    "port": {"number": 9080, "protocol": "HTTP", "name": "egresshttp"},
                    "hosts": ["prod-us1/*"],
                },
                {
                    "bind": "127.0.0.1",
                    "captureMode": "NONE",
                    "port": {"number": 3306, "protocol": "MYSQL", "name": "mysql"},
                    "hosts": ["*/mysql.foo.com"],
                },
                {"hosts": ["istio-system/*", "~/*", "*/*.example.com"]},
            ],
            "inboundConnectionPool": {"tcp": {"maxConnections": 100}},
            "outboundTrafficPolicy": {
                "mode": "ALLOW_ANY",
                "egressProxy": {"host": "foo.bar", "subset": "shiny", "port": {"number": 443}},
            },
        },
    ),
    ("Sidecar", "registry only", {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}),
]


@pytest.mark.parametrize("version", ["v1", "v1beta1", "v1alpha3"])
@pytest.mark.parametrize(("kind", "spec"), [pytest.param(k, s, id=f"{k}-{n}") for k, n, s in VALID])
def test_valid(kind: str, spec: dict[str, Any], version: str) -> None:
    result = load_text(_doc(kind, spec, version))
    assert result.problems == []
    assert len(result.resources) == 1


def test_warnings() -> None:
    spec = _gw(
        _https(
            {"mode": "SIMPLE", "credentialName": "c", "httpsRedirect": True},
            port={"number": 443, "name": "https", "protocol": "HTTPS", "targetPort": 8443},
        )
    )
    result = load_text(_doc("Gateway", spec))
    assert result.ok
    paths = {p.path for p in result.problems if p.level is Level.WARNING}
    assert paths == {"spec.servers[0].tls.httpsRedirect", "spec.servers[0].port.targetPort"}


def test_server_tls_default_mode() -> None:
    spec = _gw(_https({"credentialName": "c"}))
    server = load_text(_doc("Gateway", spec)).resources[0].spec.servers[0]
    assert server.tls.mode == "PASSTHROUGH"
