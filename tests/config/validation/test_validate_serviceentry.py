"""Table tests for ServiceEntry, WorkloadEntry and WorkloadGroup validation."""

from __future__ import annotations

from typing import Any

import pytest

from config_support.documents import assert_rejected, networking_doc
from sailmesh.config.diagnostics import Level
from sailmesh.config.load import load_text


def _doc(kind: str, spec: dict[str, Any], version: str = "v1") -> str:
    return networking_doc(kind, spec, version)


HTTPS = {"number": 443, "name": "https", "protocol": "HTTPS"}
TCP = {"number": 5432, "name": "tcp", "protocol": "TCP"}


def _se(**extra: Any) -> dict[str, Any]:
    return {"hosts": ["api.example.com"], "ports": [HTTPS], "resolution": "DNS", **extra}


INVALID = [
    ("ServiceEntry", "hosts missing", {"ports": [HTTPS]}, "spec.hosts", "required"),
    ("ServiceEntry", "star host", _se(hosts=["*"]), "spec.hosts[0]", "not allowed"),
    (
        "ServiceEntry",
        "ip host",
        _se(hosts=["1.2.3.4"], resolution="NONE"),
        "spec.hosts[0]",
        "addresses",
    ),
    ("ServiceEntry", "bad host", _se(hosts=["a_b.com"]), "spec.hosts[0]", "invalid host"),
    (
        "ServiceEntry",
        "address",
        _se(addresses=["300.0.0.1"]),
        "spec.addresses[0]",
        "invalid address",
    ),
    (
        "ServiceEntry",
        "port number",
        _se(ports=[{"number": 0, "name": "h", "protocol": "HTTP"}]),
        "spec.ports[0].number",
        "1..65535",
    ),
    (
        "ServiceEntry",
        "port name missing",
        _se(ports=[{"number": 80, "protocol": "HTTP"}]),
        "spec.ports[0].name",
        "required",
    ),
    (
        "ServiceEntry",
        "port name bad",
        _se(ports=[{"number": 80, "name": "HTTP_1"}]),
        "spec.ports[0].name",
        "invalid port name",
    ),
    (
        "ServiceEntry",
        "port dup number",
        _se(ports=[HTTPS, {**HTTPS, "name": "other"}]),
        "spec.ports[1].number",
        "already defined",
    ),
    (
        "ServiceEntry",
        "port dup name",
        _se(ports=[HTTPS, {**HTTPS, "number": 8443}]),
        "spec.ports[1].name",
        "already defined",
    ),
    (
        "ServiceEntry",
        "protocol",
        _se(ports=[{**HTTPS, "protocol": "SMTP"}]),
        "spec.ports[0].protocol",
        "unsupported protocol",
    ),
    (
        "ServiceEntry",
        "target port",
        _se(ports=[{**HTTPS, "targetPort": 99999}]),
        "spec.ports[0].targetPort",
        "1..65535",
    ),
    (
        "ServiceEntry",
        "resolution enum",
        _se(resolution="MAGIC"),
        "spec.resolution",
        "must be one of",
    ),
    ("ServiceEntry", "location enum", _se(location="OUTSIDE"), "spec.location", "must be one of"),
    (
        "ServiceEntry",
        "none with endpoints",
        _se(resolution="NONE", endpoints=[{"address": "1.1.1.1"}]),
        "spec.endpoints",
        "resolution NONE",
    ),
    (
        "ServiceEntry",
        "dns wildcard",
        _se(hosts=["*.example.com"]),
        "spec.hosts[0]",
        "fully qualified",
    ),
    (
        "ServiceEntry",
        "round robin endpoints",
        _se(resolution="DNS_ROUND_ROBIN", endpoints=[{"address": "a.com"}, {"address": "b.com"}]),
        "spec.endpoints",
        "at most one",
    ),
    (
        "ServiceEntry",
        "static hostname",
        _se(resolution="STATIC", endpoints=[{"address": "a.com"}]),
        "spec.endpoints[0].address",
        "IP address",
    ),
    (
        "ServiceEntry",
        "dns bad address",
        _se(endpoints=[{"address": "a..com"}]),
        "spec.endpoints[0].address",
        "not a valid",
    ),
    (
        "ServiceEntry",
        "endpoint port name",
        _se(resolution="STATIC", endpoints=[{"address": "10.0.0.1", "ports": {"http": 8080}}]),
        "spec.endpoints[0].ports.http",
        "not a port name",
    ),
    (
        "ServiceEntry",
        "endpoint port range",
        _se(resolution="STATIC", endpoints=[{"address": "10.0.0.1", "ports": {"https": 0}}]),
        "spec.endpoints[0].ports.https",
        "1..65535",
    ),
    (
        "ServiceEntry",
        "unix with ports",
        _se(resolution="STATIC", endpoints=[{"address": "unix:///sock", "ports": {"https": 1}}]),
        "spec.endpoints[0].ports",
        "must not have ports",
    ),
    (
        "ServiceEntry",
        "endpoint labels",
        _se(resolution="STATIC", endpoints=[{"address": "10.0.0.1", "labels": {"a": "b c"}}]),
        "spec.endpoints[0].labels.a",
        "invalid label value",
    ),
    (
        "ServiceEntry",
        "endpoint port field",
        _se(endpoints=[{"address": "a.com", "port": 80}]),
        "spec.endpoints[0].port",
        "unknown field 'port'",
    ),
    (
        "ServiceEntry",
        "selector and endpoints",
        _se(
            resolution="STATIC",
            workloadSelector={"labels": {"app": "a"}},
            endpoints=[{"address": "10.0.0.1"}],
        ),
        "spec.endpoints",
        "only one of workloadSelector or endpoints",
    ),
    (
        "ServiceEntry",
        "multiple hosts tcp",
        {"hosts": ["a.com", "b.com"], "ports": [TCP], "resolution": "DNS"},
        "spec.hosts",
        "multiple hosts",
    ),
    ("ServiceEntry", "exportTo", _se(exportTo=["*", "ns"]), "spec.exportTo", "cannot be combined"),
    ("WorkloadEntry", "address missing", {"labels": {"app": "vm"}}, "spec.address", "required"),
    ("WorkloadEntry", "address bad", {"address": "not valid!"}, "spec.address", "not a valid"),
    (
        "WorkloadEntry",
        "port",
        {"address": "10.0.0.1", "ports": {"http": 70000}},
        "spec.ports.http",
        "1..65535",
    ),
    (
        "WorkloadEntry",
        "labels",
        {"address": "10.0.0.1", "labels": {"-a": "b"}},
        "spec.labels.-a",
        "invalid label key",
    ),
    (
        "WorkloadEntry",
        "service account",
        {"address": "10.0.0.1", "serviceAccount": "Bad_SA"},
        "spec.serviceAccount",
        "invalid service account",
    ),
    ("WorkloadEntry", "weight", {"address": "10.0.0.1", "weight": -1}, "spec.weight", "negative"),
    (
        "WorkloadGroup",
        "template missing",
        {"metadata": {"labels": {"app": "vm"}}},
        "spec.template",
        "required",
    ),
    (
        "WorkloadGroup",
        "template address",
        {"template": {"address": "10.0.0.1"}},
        "spec.template.address",
        "cannot be set",
    ),
    (
        "WorkloadGroup",
        "metadata labels",
        {"metadata": {"labels": {"a": "$"}}, "template": {}},
        "spec.metadata.labels.a",
        "invalid label value",
    ),
    (
        "WorkloadGroup",
        "probe two methods",
        {"template": {}, "probe": {"httpGet": {"port": 80}, "tcpSocket": {"port": 80}}},
        "spec.probe",
        "exactly one",
    ),
    (
        "WorkloadGroup",
        "probe none",
        {"template": {}, "probe": {"periodSeconds": 5}},
        "spec.probe",
        "exactly one",
    ),
    (
        "WorkloadGroup",
        "probe port",
        {"template": {}, "probe": {"httpGet": {"path": "/"}}},
        "spec.probe.httpGet.port",
        "required",
    ),
    (
        "WorkloadGroup",
        "probe negative",
        {"template": {}, "probe": {"periodSeconds": -1, "exec": {"command": ["x"]}}},
        "spec.probe.periodSeconds",
        "negative",
    ),
    (
        "WorkloadGroup",
        "probe exec",
        {"template": {}, "probe": {"exec": {"command": []}}},
        "spec.probe.exec.command",
        "required",
    ),
    (
        "WorkloadGroup",
        "probe scheme",
        {"template": {}, "probe": {"httpGet": {"port": 80, "scheme": "FTP"}}},
        "spec.probe.httpGet.scheme",
        "HTTP or HTTPS",
    ),
]


@pytest.mark.parametrize(
    ("kind", "spec", "path", "fragment"),
    [pytest.param(k, s, p, f, id=f"{k}-{n}") for k, n, s, p, f in INVALID],
)
def test_invalid(kind: str, spec: dict[str, Any], path: str, fragment: str) -> None:
    assert_rejected(_doc(kind, spec), path, fragment)


VALID = [
    ("ServiceEntry", "external https", _se(location="MESH_EXTERNAL")),
    (
        "ServiceEntry",
        "wildcard none",
        {
            "hosts": ["*.wikipedia.org"],
            "ports": [{"number": 443, "name": "tls", "protocol": "TLS"}],
            "resolution": "NONE",
        },
    ),
    (
        "ServiceEntry",
        "static",
        {
            "hosts": ["mymongodb.somedomain"],
            "addresses": ["192.192.192.192/24"],
            "ports": [{"number": 27018, "name": "mongodb", "protocol": "MONGO"}],
            "location": "MESH_INTERNAL",
            "resolution": "STATIC",
            "endpoints": [
                {"address": "2.2.2.2"},
                {
                    "address": "3.3.3.3",
                    "ports": {"mongodb": 27019},
                    "labels": {"version": "v1"},
                    "weight": 10,
                    "locality": "us-east/zone1",
                    "network": "n1",
                    "serviceAccount": "mongo",
                },
            ],
        },
    ),
    (
        "ServiceEntry",
        "dns endpoints",
        {
            "hosts": ["foo.bar.com"],
            "ports": [{"number": 80, "name": "http", "protocol": "HTTP", "targetPort": 8080}],
            "resolution": "DNS",
            "endpoints": [
                {"address": "us.foo.bar.com", "ports": {"http": 8080}},
                {"address": "1.2.3.4"},
            ],
            "exportTo": ["."],
            "subjectAltNames": ["spiffe://cluster.local/ns/a/sa/b"],
        },
    ),
    (
        "ServiceEntry",
        "selector",
        {
            "hosts": ["vm.mesh"],
            "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}],
            "location": "MESH_INTERNAL",
            "resolution": "STATIC",
            "workloadSelector": {"labels": {"app": "vm"}},
        },
    ),
    (
        "ServiceEntry",
        "unix",
        {
            "hosts": ["unix.local"],
            "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}],
            "resolution": "STATIC",
            "endpoints": [{"address": "unix:///var/run/example/socket"}],
        },
    ),
    (
        "ServiceEntry",
        "multiple http hosts",
        {
            "hosts": ["a.com", "b.com"],
            "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}],
            "resolution": "DNS",
        },
    ),
    (
        "WorkloadEntry",
        "vm",
        {
            "address": "2.2.2.2",
            "labels": {"app": "details"},
            "serviceAccount": "details-legacy",
            "ports": {"http": 9080},
            "network": "vm-net",
            "locality": "us-west/zone1",
            "weight": 5,
        },
    ),
    ("WorkloadEntry", "dns address", {"address": "vm1.example.com"}),
    ("WorkloadEntry", "network only", {"network": "remote", "labels": {"app": "x"}}),
    (
        "WorkloadGroup",
        "template",
        {
            "metadata": {"labels": {"app": "reviews"}, "annotations": {"a": "b"}},
            "template": {
                "ports": {"grpc": 3550, "http": 8080},
                "serviceAccount": "default",
                "network": "n",
            },
            "probe": {
                "initialDelaySeconds": 5,
                "timeoutSeconds": 3,
                "periodSeconds": 4,
                "successThreshold": 3,
                "failureThreshold": 3,
                "httpGet": {
                    "path": "/foo/bar",
                    "host": "127.0.0.1",
                    "port": 3100,
                    "scheme": "HTTPS",
                    "httpHeaders": [{"name": "Lit-Header", "value": "Im-The-Best"}],
                },
            },
        },
    ),
    (
        "WorkloadGroup",
        "grpc probe",
        {"template": {}, "probe": {"grpc": {"port": 50051, "service": "health"}}},
    ),
]


@pytest.mark.parametrize("version", ["v1", "v1beta1", "v1alpha3"])
@pytest.mark.parametrize(("kind", "spec"), [pytest.param(k, s, id=f"{k}-{n}") for k, n, s in VALID])
def test_valid(kind: str, spec: dict[str, Any], version: str) -> None:
    result = load_text(_doc(kind, spec, version))
    assert [p for p in result.problems if p.level is Level.ERROR] == []
    assert len(result.resources) == 1


WARNINGS = [
    (_se(ports=[]), "spec.ports", "no ports"),
    (
        {"hosts": ["db.local"], "ports": [TCP], "resolution": "NONE"},
        "spec.addresses",
        "addresses are needed",
    ),
    (_se(resolution="STATIC"), "spec.endpoints", "without endpoints"),
    (_se(hosts=["*foo.com"], resolution="NONE"), "spec.hosts[0]", "partial wildcard"),
]


@pytest.mark.parametrize(("spec", "path", "fragment"), WARNINGS)
def test_warnings(spec: dict[str, Any], path: str, fragment: str) -> None:
    result = load_text(_doc("ServiceEntry", spec))
    assert result.ok and len(result.resources) == 1
    assert any(
        p.path == path and fragment in p.message and p.level is Level.WARNING
        for p in result.problems
    ), result.problems


def test_defaults() -> None:
    spec = load_text(_doc("ServiceEntry", {"hosts": ["a.com"], "ports": [HTTPS]})).resources[0].spec
    assert spec.location == "MESH_EXTERNAL"
    assert spec.resolution == "NONE"
