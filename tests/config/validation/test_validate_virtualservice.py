"""Table tests for VirtualService validation: one invalid object per rule, plus valid samples."""

from __future__ import annotations

from typing import Any

import pytest

from config_support.documents import assert_rejected, networking_doc
from sailmesh.config.diagnostics import Level
from sailmesh.config.load import load_text


def _doc(spec: dict[str, Any], version: str = "v1") -> str:
    return networking_doc("VirtualService", spec, version, name="vs")


def _route(**extra: Any) -> dict[str, Any]:
    return {"route": [{"destination": {"host": "reviews"}}], **extra}


def _vs(*http: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"hosts": ["reviews"], "http": list(http) or [_route()], **extra}


INVALID = [
    ("delegate gateways", {"gateways": ["gw"], "http": [_route()]}, "spec.gateways", "delegate"),
    (
        "delegate tcp",
        {"tcp": [{"route": [{"destination": {"host": "a"}}]}]},
        "spec.tcp",
        "delegate",
    ),
    (
        "delegate chain",
        {"http": [{"delegate": {"name": "x"}}]},
        "spec.http[0].delegate",
        "one level",
    ),
    ("no routes", {"hosts": ["reviews"]}, "spec", "at least one route"),
    ("bad host", _vs(hosts=["foo..bar"]), "spec.hosts[0]", "invalid host"),
    ("inner wildcard", _vs(hosts=["foo.*.com"]), "spec.hosts[0]", "wildcard"),
    ("star on mesh", _vs(hosts=["*"]), "spec.hosts[0]", "mesh"),
    ("ns in host", _vs(hosts=["default/reviews"]), "spec.hosts[0]", "namespace"),
    ("duplicate host", _vs(hosts=["a", "a"]), "spec.hosts[1]", "duplicate"),
    ("bad gateway", _vs(gateways=["Bad_GW"]), "spec.gateways[0]", "invalid gateway name"),
    ("bad gateway ns", _vs(gateways=["ns/"]), "spec.gateways[0]", "invalid gateway name"),
    ("no action", _vs({"match": [{"uri": {"prefix": "/"}}]}), "spec.http[0]", "needs one of"),
    ("route and redirect", _vs(_route(redirect={"uri": "/x"})), "spec.http[0]", "only one of"),
    ("route and direct", _vs(_route(directResponse={"status": 200})), "spec.http[0]", "only one"),
    (
        "rewrite with redirect",
        _vs({"redirect": {"uri": "/a"}, "rewrite": {"uri": "/b"}}),
        "spec.http[0].rewrite",
        "both rewrite and redirect",
    ),
    (
        "empty redirect",
        _vs({"redirect": {"redirectCode": 301}}),
        "spec.http[0].redirect",
        "at least one",
    ),
    (
        "redirect port and derive",
        _vs({"redirect": {"port": 80, "derivePort": "FROM_REQUEST_PORT"}}),
        "spec.http[0].redirect.port",
        "only one of port or derivePort",
    ),
    (
        "redirect code",
        _vs({"redirect": {"uri": "/a", "redirectCode": 200}}),
        "spec.http[0].redirect.redirectCode",
        "301, 302",
    ),
    (
        "redirect bad port",
        _vs({"redirect": {"port": 70000}}),
        "spec.http[0].redirect.port",
        "1..65535",
    ),
    (
        "direct status",
        _vs({"directResponse": {"status": 150}}),
        "spec.http[0].directResponse.status",
        "200..599",
    ),
    (
        "direct status missing",
        _vs({"directResponse": {"body": {"string": "x"}}}),
        "spec.http[0].directResponse.status",
        "required",
    ),
    (
        "direct body both",
        _vs({"directResponse": {"status": 200, "body": {"string": "a", "bytes": "YQ=="}}}),
        "spec.http[0].directResponse.body",
        "only one of string or bytes",
    ),
    (
        "direct body base64",
        _vs({"directResponse": {"status": 200, "body": {"bytes": "!!"}}}),
        "spec.http[0].directResponse.body.bytes",
        "base64",
    ),
    (
        "delegate name",
        _vs({"delegate": {"namespace": "ns"}}),
        "spec.http[0].delegate.name",
        "required",
    ),
    (
        "dest missing",
        _vs({"route": [{"weight": 100}]}),
        "spec.http[0].route[0].destination",
        "required",
    ),
    (
        "dest host missing",
        _vs({"route": [{"destination": {"subset": "v1"}}]}),
        "spec.http[0].route[0].destination.host",
        "required",
    ),
    (
        "dest host star",
        _vs({"route": [{"destination": {"host": "*"}}]}),
        "spec.http[0].route[0].destination.host",
        "'*'",
    ),
    (
        "dest subset",
        _vs({"route": [{"destination": {"host": "r", "subset": "V_1"}}]}),
        "spec.http[0].route[0].destination.subset",
        "invalid subset name",
    ),
    (
        "dest port",
        _vs({"route": [{"destination": {"host": "r", "port": {"number": 0}}}]}),
        "spec.http[0].route[0].destination.port.number",
        "1..65535",
    ),
    (
        "negative weight",
        _vs(
            {
                "route": [
                    {"destination": {"host": "a"}, "weight": -1},
                    {"destination": {"host": "b"}, "weight": 101},
                ]
            }
        ),
        "spec.http[0].route[0].weight",
        "negative",
    ),
    (
        "zero weights",
        _vs(
            {"route": [{"destination": {"host": "a"}, "weight": 0}, {"destination": {"host": "b"}}]}
        ),
        "spec.http[0].route",
        "total destination weight is 0",
    ),
    (
        "string match two",
        _vs(_route(match=[{"uri": {"exact": "/a", "prefix": "/b"}}])),
        "spec.http[0].match[0].uri",
        "only one of exact, prefix or regex",
    ),
    (
        "bad regex",
        _vs(_route(match=[{"uri": {"regex": "(a"}}])),
        "spec.http[0].match[0].uri.regex",
        "invalid regex",
    ),
    (
        "lookahead",
        _vs(_route(match=[{"uri": {"regex": "/a(?=b)"}}])),
        "spec.http[0].match[0].uri.regex",
        "lookahead",
    ),
    (
        "lookbehind",
        _vs(_route(match=[{"authority": {"regex": "(?<!x)y"}}])),
        "spec.http[0].match[0].authority.regex",
        "lookbehind",
    ),
    (
        "backreference",
        _vs(_route(match=[{"headers": {"x-a": {"regex": "(a)\\1"}}}])),
        "spec.http[0].match[0].headers.x-a.regex",
        "backreference",
    ),
    (
        "upper header",
        _vs(_route(match=[{"headers": {"End-User": {"exact": "jason"}}}])),
        "spec.http[0].match[0].headers.End-User",
        "lowercase",
    ),
    (
        "bad header name",
        _vs(_route(match=[{"withoutHeaders": {"a b": {"exact": "x"}}}])),
        "spec.http[0].match[0].withoutHeaders[a b]",
        "invalid header name",
    ),
    ("match port", _vs(_route(match=[{"port": 0}])), "spec.http[0].match[0].port", "1..65535"),
    (
        "source labels",
        _vs(_route(match=[{"sourceLabels": {"app": "-bad-"}}])),
        "spec.http[0].match[0].sourceLabels.app",
        "invalid label value",
    ),
    (
        "match gateway",
        _vs(_route(match=[{"gateways": ["a/b/c"]}])),
        "spec.http[0].match[0].gateways[0]",
        "invalid gateway name",
    ),
    ("timeout short", _vs(_route(timeout="0.5ms")), "spec.http[0].timeout", "at least 1ms"),
    ("timeout negative", _vs(_route(timeout="-1s")), "spec.http[0].timeout", "negative"),
    ("bad duration", _vs(_route(timeout="10")), "spec.http[0].timeout", "invalid duration"),
    (
        "retries negative",
        _vs(_route(retries={"attempts": -1})),
        "spec.http[0].retries.attempts",
        "negative",
    ),
    (
        "per try timeout",
        _vs(_route(retries={"attempts": 2, "perTryTimeout": "0s"})),
        "spec.http[0].retries.perTryTimeout",
        "at least 1ms",
    ),
    (
        "retry on",
        _vs(_route(retries={"attempts": 2, "retryOn": "5xx,sometimes"})),
        "spec.http[0].retries.retryOn",
        "'sometimes' is not a valid retryOn",
    ),
    (
        "backoff",
        _vs(_route(retries={"attempts": 2, "backoff": "0s"})),
        "spec.http[0].retries.backoff",
        "at least 1ms",
    ),
    ("fault empty", _vs(_route(fault={})), "spec.http[0].fault", "abort and/or a delay"),
    (
        "fault delay missing",
        _vs(_route(fault={"delay": {"percentage": {"value": 10}}})),
        "spec.http[0].fault.delay.fixedDelay",
        "required",
    ),
    (
        "fault delay pct",
        _vs(_route(fault={"delay": {"fixedDelay": "5s", "percentage": {"value": 120}}})),
        "spec.http[0].fault.delay.percentage.value",
        "0..100",
    ),
    (
        "fault exponential",
        _vs(_route(fault={"delay": {"exponentialDelay": "5s"}})),
        "spec.http[0].fault.delay.exponentialDelay",
        "not supported",
    ),
    (
        "abort status",
        _vs(_route(fault={"abort": {"httpStatus": 600}})),
        "spec.http[0].fault.abort.httpStatus",
        "200..599",
    ),
    (
        "abort none",
        _vs(_route(fault={"abort": {"percentage": {"value": 1}}})),
        "spec.http[0].fault.abort",
        "httpStatus",
    ),
    (
        "abort grpc",
        _vs(_route(fault={"abort": {"grpcStatus": "BROKEN"}})),
        "spec.http[0].fault.abort.grpcStatus",
        "unknown gRPC status",
    ),
    (
        "abort http2",
        _vs(_route(fault={"abort": {"http2Error": "X"}})),
        "spec.http[0].fault.abort.http2Error",
        "not supported",
    ),
    (
        "abort pct",
        _vs(_route(fault={"abort": {"httpStatus": 503, "percentage": {"value": -1}}})),
        "spec.http[0].fault.abort.percentage.value",
        "0..100",
    ),
    (
        "fault with redirect",
        _vs({"redirect": {"uri": "/"}, "fault": {"abort": {"httpStatus": 500}}}),
        "spec.http[0].fault",
        "both fault and redirect",
    ),
    (
        "mirror pct",
        _vs(_route(mirror={"host": "m"}, mirrorPercentage={"value": 101})),
        "spec.http[0].mirrorPercentage.value",
        "0..100",
    ),
    (
        "mirror percent old",
        _vs(_route(mirror={"host": "m"}, mirrorPercent=150)),
        "spec.http[0].mirrorPercent",
        "0..100",
    ),
    (
        "mirror both pcts",
        _vs(_route(mirror={"host": "m"}, mirrorPercent=5, mirrorPercentage={"value": 5})),
        "spec.http[0].mirrorPercent",
        "only one of mirrorPercent or mirrorPercentage",
    ),
    (
        "mirror and mirrors",
        _vs(_route(mirror={"host": "m"}, mirrors=[{"destination": {"host": "n"}}])),
        "spec.http[0].mirrors",
        "only one of mirror or mirrors",
    ),
    ("mirror host", _vs(_route(mirror={"subset": "v1"})), "spec.http[0].mirror.host", "required"),
    (
        "mirrors pct",
        _vs(_route(mirrors=[{"destination": {"host": "n"}, "percentage": {"value": 200}}])),
        "spec.http[0].mirrors[0].percentage.value",
        "0..100",
    ),
    (
        "rewrite both",
        _vs(_route(rewrite={"uri": "/a", "uriRegexRewrite": {"match": "a", "rewrite": "b"}})),
        "spec.http[0].rewrite",
        "only one of uri or uriRegexRewrite",
    ),
    ("rewrite empty", _vs(_route(rewrite={})), "spec.http[0].rewrite", "at least one"),
    (
        "rewrite regex",
        _vs(_route(rewrite={"uriRegexRewrite": {"match": "(", "rewrite": "/"}})),
        "spec.http[0].rewrite.uriRegexRewrite.match",
        "invalid regex",
    ),
    (
        "cors method",
        _vs(_route(corsPolicy={"allowMethods": ["get"]})),
        "spec.http[0].corsPolicy.allowMethods[0]",
        "not a supported HTTP method",
    ),
    (
        "cors origins",
        _vs(_route(corsPolicy={"allowOrigins": [{"exact": "a", "regex": "b"}]})),
        "spec.http[0].corsPolicy.allowOrigins[0]",
        "only one of",
    ),
    (
        "cors header",
        _vs(_route(corsPolicy={"allowHeaders": ["bad header"]})),
        "spec.http[0].corsPolicy.allowHeaders[0]",
        "invalid header name",
    ),
    (
        "cors maxage",
        _vs(_route(corsPolicy={"maxAge": "1.5s"})),
        "spec.http[0].corsPolicy.maxAge",
        "seconds",
    ),
    (
        "header op pseudo",
        _vs(_route(headers={"request": {"set": {":authority": "x"}}})),
        "spec.http[0].headers.request.set[:authority]",
        "pseudo-header",
    ),
    (
        "header op remove",
        _vs(_route(headers={"response": {"remove": [""]}})),
        "spec.http[0].headers.response.remove[0]",
        "empty",
    ),
    (
        "route dest headers",
        _vs(
            {
                "route": [
                    {"destination": {"host": "r"}, "headers": {"request": {"add": {"a b": "1"}}}}
                ]
            }
        ),
        "spec.http[0].route[0].headers.request.add[a b]",
        "invalid header name",
    ),
    (
        "tls no match",
        {"hosts": ["a.com"], "tls": [{"route": [{"destination": {"host": "a"}}]}]},
        "spec.tls[0].match",
        "sniHosts",
    ),
    (
        "tls sni missing",
        {
            "hosts": ["a.com"],
            "tls": [{"match": [{"port": 443}], "route": [{"destination": {"host": "a"}}]}],
        },
        "spec.tls[0].match[0].sniHosts",
        "required",
    ),
    (
        "tls sni foreign",
        {
            "hosts": ["a.com"],
            "tls": [
                {"match": [{"sniHosts": ["b.com"]}], "route": [{"destination": {"host": "a"}}]}
            ],
        },
        "spec.tls[0].match[0].sniHosts[0]",
        "not covered",
    ),
    (
        "tls route missing",
        {"hosts": ["a.com"], "tls": [{"match": [{"sniHosts": ["a.com"]}]}]},
        "spec.tls[0].route",
        "required",
    ),
    (
        "tcp subnet",
        {
            "hosts": ["db"],
            "tcp": [
                {
                    "match": [{"destinationSubnets": ["10.0.0.0/33"]}],
                    "route": [{"destination": {"host": "db"}}],
                }
            ],
        },
        "spec.tcp[0].match[0].destinationSubnets[0]",
        "invalid subnet",
    ),
    (
        "tcp source subnet",
        {
            "hosts": ["db"],
            "tcp": [{"match": [{"sourceSubnet": "x"}], "route": [{"destination": {"host": "db"}}]}],
        },
        "spec.tcp[0].match[0].sourceSubnet",
        "invalid subnet",
    ),
    (
        "tcp route missing",
        {"hosts": ["db"], "tcp": [{"match": [{"port": 5432}]}]},
        "spec.tcp[0].route",
        "required",
    ),
    (
        "tcp weights",
        {
            "hosts": ["db"],
            "tcp": [{"route": [{"destination": {"host": "a"}}, {"destination": {"host": "b"}}]}],
        },
        "spec.tcp[0].route",
        "total destination weight is 0",
    ),
    ("exportTo bad", _vs(exportTo=["Bad"]), "spec.exportTo[0]", "invalid exportTo"),
    ("exportTo mix", _vs(exportTo=["*", "."]), "spec.exportTo", "cannot be combined"),
    ("exportTo tilde", _vs(exportTo=["~", "a"]), "spec.exportTo", "only value"),
    ("unknown field", _vs(_route(timeouts="1s")), "spec.http[0].timeouts", "did you mean"),
    (
        "enum",
        _vs({"redirect": {"uri": "/", "derivePort": "NOPE"}}),
        "spec.http[0].redirect.derivePort",
        "must be one of",
    ),
]


@pytest.mark.parametrize(
    ("spec", "path", "fragment"), [pytest.param(s, p, f, id=n) for n, s, p, f in INVALID]
)
def test_invalid(spec: dict[str, Any], path: str, fragment: str) -> None:
    assert_rejected(_doc(spec), path, fragment)


WARNINGS = [
    ("no hosts is a delegate", {"http": [_route()]}, "spec.hosts", "delegate"),
    (
        "mirrorPercent",
        _vs(_route(mirror={"host": "m"}, mirrorPercent=10)),
        "spec.http[0].mirrorPercent",
        "deprecated",
    ),
    (
        "mirror_percent spelling",
        _vs(_route(mirror={"host": "m"}, mirror_percent=10)),
        "spec.http[0].mirrorPercent",
        "deprecated",
    ),
    (
        "allowOrigin",
        _vs(_route(corsPolicy={"allowOrigin": ["https://a.com"]})),
        "spec.http[0].corsPolicy.allowOrigin",
        "deprecated",
    ),
    (
        "delay percent",
        _vs(_route(fault={"delay": {"fixedDelay": "1s", "percent": 10}})),
        "spec.http[0].fault.delay.percent",
        "deprecated",
    ),
    (
        "retries zero",
        _vs(_route(retries={"attempts": 0, "retryOn": "5xx"})),
        "spec.http[0].retries.attempts",
        "disables retries",
    ),
    (
        "per try > timeout",
        _vs(_route(timeout="1s", retries={"attempts": 2, "perTryTimeout": "2s"})),
        "spec.http[0].retries.perTryTimeout",
        "longer than",
    ),
    (
        "redirect 304",
        _vs({"redirect": {"uri": "/", "redirectCode": 304}}),
        "spec.http[0].redirect.redirectCode",
        "not supported by Envoy",
    ),
    (
        "query prefix",
        _vs(_route(match=[{"queryParams": {"a": {"prefix": "x"}}}])),
        "spec.http[0].match[0].queryParams.a.prefix",
        "not supported",
    ),
]


@pytest.mark.parametrize(
    ("spec", "path", "fragment"), [pytest.param(s, p, f, id=n) for n, s, p, f in WARNINGS]
)
def test_warning_keeps_resource(spec: dict[str, Any], path: str, fragment: str) -> None:
    result = load_text(_doc(spec))
    assert result.ok, result.problems
    assert len(result.resources) == 1
    warnings = [p for p in result.problems if p.level is Level.WARNING]
    assert any(p.path == path and fragment in p.message for p in warnings), warnings


VALID = [
    (
        "full http route",
        _vs(
            {
                "name": "main",
                "match": [
                    {
                        "uri": {"prefix": "/api"},
                        "headers": {"end-user": {"exact": "jason"}, "x-present": {}},
                        "queryParams": {"v": {"regex": "^[0-9]+$"}},
                        "ignoreUriCase": True,
                        "method": {"exact": "GET"},
                        "scheme": {"exact": "https"},
                        "withoutHeaders": {"x-skip": {"exact": "1"}},
                        "sourceNamespace": "default",
                        "statPrefix": "api",
                        "port": 9080,
                        "gateways": ["mesh"],
                    }
                ],
                "route": [
                    {
                        "destination": {
                            "host": "reviews",
                            "subset": "v1",
                            "port": {"number": 9080},
                        },
                        "weight": 75,
                        "headers": {"response": {"remove": ["x-internal"]}},
                    },
                    {
                        "destination": {
                            "host": "reviews.default.svc.cluster.local",
                            "subset": "v2",
                        },
                        "weight": 25,
                    },
                ],
                "rewrite": {"uri": "/", "authority": "reviews"},
                "timeout": "10s",
                "retries": {
                    "attempts": 3,
                    "perTryTimeout": "2s",
                    "retryOn": "gateway-error,connect-failure,refused-stream,503",
                    "retryRemoteLocalities": True,
                    "retryIgnorePreviousHosts": True,
                    "backoff": "25ms",
                },
                "mirrors": [{"destination": {"host": "shadow"}, "percentage": {"value": 5.5}}],
                "corsPolicy": {
                    "allowOrigins": [{"exact": "https://example.com"}, {"regex": ".*\\.a\\.com"}],
                    "allowMethods": ["GET", "POST"],
                    "allowHeaders": ["x-custom", "*"],
                    "exposeHeaders": ["x-exposed"],
                    "maxAge": "24h",
                    "allowCredentials": True,
                    "unmatchedPreflights": "IGNORE",
                },
                "headers": {"request": {"set": {"x-a": "1"}, "add": {"x-b": "2"}}},
            }
        ),
    ),
    ("timeout zero disables", _vs(_route(timeout="0s"))),
    (
        "redirect",
        _vs(
            {
                "match": [{"uri": {"exact": "/old"}}],
                "redirect": {
                    "uri": "/new",
                    "authority": "a.com",
                    "scheme": "https",
                    "derivePort": "FROM_PROTOCOL_DEFAULT",
                    "redirectCode": 308,
                },
            }
        ),
    ),
    ("direct response", _vs({"directResponse": {"status": 503, "body": {"string": "down"}}})),
    (
        "delegate",
        {
            "hosts": ["bookinfo.com"],
            "gateways": ["istio-system/gw"],
            "http": [
                {
                    "match": [{"uri": {"prefix": "/p"}}],
                    "delegate": {"name": "productpage", "namespace": "nsA"},
                }
            ],
        },
    ),
    (
        "regex rewrite",
        _vs(
            _route(
                rewrite={
                    "uriRegexRewrite": {
                        "match": "^/service/([^/]+)(/.*)$",
                        "rewrite": "\\2/instance/\\1",
                    }
                }
            )
        ),
    ),
    (
        "star host on gateway",
        {"hosts": ["*"], "gateways": ["bookinfo-gateway"], "http": [_route()]},
    ),
    ("ip host", {"hosts": ["10.0.0.1"], "http": [_route()]}),
    (
        "wildcard host",
        {"hosts": ["*.example.com"], "gateways": ["ns/gw", "mesh"], "http": [_route()]},
    ),
    (
        "tls passthrough",
        {
            "hosts": ["*.example.com"],
            "gateways": ["gw"],
            "tls": [
                {
                    "match": [{"port": 443, "sniHosts": ["a.example.com"]}],
                    "route": [{"destination": {"host": "a.example.com", "port": {"number": 443}}}],
                }
            ],
        },
    ),
    (
        "tcp",
        {
            "hosts": ["mongo"],
            "tcp": [
                {
                    "match": [
                        {
                            "port": 27017,
                            "sourceSubnet": "10.0.0.0/8",
                            "destinationSubnets": ["10.1.0.0/16"],
                        }
                    ],
                    "route": [{"destination": {"host": "mongo.backup"}, "weight": 100}],
                }
            ],
        },
    ),
    (
        "grpc abort",
        _vs(_route(fault={"abort": {"grpcStatus": "UNAVAILABLE", "percentage": {"value": 50}}})),
    ),
    ("exportTo", _vs(exportTo=[".", "istio-system"])),
]


@pytest.mark.parametrize("version", ["v1", "v1beta1", "v1alpha3"])
@pytest.mark.parametrize("spec", [pytest.param(s, id=n) for n, s in VALID])
def test_valid(spec: dict[str, Any], version: str) -> None:
    result = load_text(_doc(spec, version))
    assert [p for p in result.problems if p.level is Level.ERROR] == []
    assert len(result.resources) == 1


def test_typed_fields() -> None:
    spec = _vs(_route(timeout="1m30s", mirror={"host": "m"}, mirror_percent=7))
    resource = load_text(_doc(spec)).resources[0]
    route = resource.spec.http[0]
    assert route.timeout.nanos == 90 * 10**9
    assert route.mirror_percent == 7
    assert route.route[0].destination.host == "reviews"
