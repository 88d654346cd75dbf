"""Table tests for security.istio.io validation: each invalid object names the field path and
says what is wrong; valid objects load without errors."""

from __future__ import annotations

from typing import Any

import pytest

from config_support.documents import istio_doc
from sailmesh.config.diagnostics import Level, Problem
from sailmesh.config.load import load_text


def doc(kind: str, spec: dict[str, Any], version: str = "v1", **meta: Any) -> str:
    meta = {"name": "test", "namespace": "foo", **meta}
    return istio_doc("security.istio.io", kind, spec, version, sort_keys=False, **meta)


def problems_of(text: str) -> list[Problem]:
    return load_text(text, "test.yaml").problems


def assert_problem(text: str, path: str, fragment: str, level: Level = Level.ERROR) -> None:
    found = problems_of(text)
    assert any(p.path == path and fragment in p.message and p.level is level for p in found), (
        f"expected {level.title} at {path!r} containing {fragment!r}; got:\n"
        + "\n".join(str(p) for p in found)
    )


AP = "AuthorizationPolicy"
PA = "PeerAuthentication"
RA = "RequestAuthentication"


def rule_from(**source: Any) -> dict[str, Any]:
    return {"rules": [{"from": [{"source": source}]}]}


def rule_to(**operation: Any) -> dict[str, Any]:
    return {"rules": [{"to": [{"operation": operation}]}]}


def rule_when(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"rules": [{"when": list(conditions)}]}


INVALID: list[tuple[str, str, str, str]] = [
    # --- AuthorizationPolicy: action, provider, targets
    ("action enum", doc(AP, {"action": "REJECT"}), "spec.action", "must be one of"),
    (
        "custom needs provider",
        doc(AP, {"action": "CUSTOM", "rules": [{}]}),
        "spec.provider",
        "requires `provider.name`",
    ),
    (
        "custom provider name",
        doc(AP, {"action": "CUSTOM", "provider": {}, "rules": [{}]}),
        "spec.provider.name",
        "required field is missing",
    ),
    (
        "custom without rules",
        doc(AP, {"action": "CUSTOM", "provider": {"name": "ext"}}),
        "spec.rules",
        "never triggers",
    ),
    (
        "provider without custom",
        doc(AP, {"action": "DENY", "provider": {"name": "ext"}}),
        "spec.provider",
        "only used with `action: CUSTOM`",
    ),
    (
        "provider with default action",
        doc(AP, {"provider": {"name": "ext"}}),
        "spec.provider",
        "action is ALLOW",
    ),
    (
        "selector and targetRefs",
        doc(
            AP,
            {
                "selector": {"matchLabels": {"app": "a"}},
                "targetRefs": [
                    {"kind": "Gateway", "group": "gateway.networking.k8s.io", "name": "gw"}
                ],
            },
        ),
        "spec.targetRefs",
        "mutually exclusive",
    ),
    (
        "selector and targetRef",
        doc(
            AP,
            {
                "selector": {"matchLabels": {"app": "a"}},
                "targetRef": {
                    "kind": "Gateway",
                    "group": "gateway.networking.k8s.io",
                    "name": "gw",
                },
            },
        ),
        "spec.targetRef",
        "mutually exclusive",
    ),
    (
        "targetRef and targetRefs",
        doc(
            AP,
            {
                "targetRef": {"kind": "Service", "name": "a"},
                "targetRefs": [{"kind": "Service", "name": "b"}],
            },
        ),
        "spec.targetRef",
        "only one of `targetRef` and `targetRefs`",
    ),
    (
        "targetRef kind",
        doc(AP, {"targetRefs": [{"kind": "Deployment", "group": "apps", "name": "x"}]}),
        "spec.targetRefs[0]",
        "cannot target kind 'Deployment'",
    ),
    (
        "targetRef gateway group",
        doc(AP, {"targetRefs": [{"kind": "Gateway", "name": "x"}]}),
        "spec.targetRefs[0]",
        "cannot target kind 'Gateway' in group ''",
    ),
    (
        "targetRef name",
        doc(AP, {"targetRefs": [{"kind": "Service"}]}),
        "spec.targetRefs[0].name",
        "required field is missing",
    ),
    (
        "targetRef kind missing",
        doc(AP, {"targetRefs": [{"name": "x"}]}),
        "spec.targetRefs[0].kind",
        "required field is missing",
    ),
    (
        "selector wildcard",
        doc(AP, {"selector": {"matchLabels": {"app": "prod-*"}}}),
        "spec.selector.matchLabels.app",
        "wildcard is not supported",
    ),
    (
        "selector empty key",
        doc(AP, {"selector": {"matchLabels": {"": "x"}}}),
        "spec.selector.matchLabels[]",
        "empty label key",
    ),
    # --- rules: from / to / when
    (
        "empty from",
        doc(AP, {"rules": [{"from": []}]}),
        "spec.rules[0].from",
        "`from` must not be empty",
    ),
    ("empty to", doc(AP, {"rules": [{"to": []}]}), "spec.rules[0].to", "`to` must not be empty"),
    (
        "empty when",
        doc(AP, {"rules": [{"when": []}]}),
        "spec.rules[0].when",
        "`when` must not be empty",
    ),
    (
        "from without source",
        doc(AP, {"rules": [{"from": [{}]}]}),
        "spec.rules[0].from[0]",
        "needs a `source`",
    ),
    ("empty source", doc(AP, rule_from()), "spec.rules[0].from[0].source", "at least one field"),
    (
        "to without operation",
        doc(AP, {"rules": [{"to": [{}]}]}),
        "spec.rules[0].to[0]",
        "needs an `operation`",
    ),
    ("empty operation", doc(AP, rule_to()), "spec.rules[0].to[0].operation", "at least one field"),
    (
        "unknown source field",
        doc(AP, rule_from(principal=["a"])),
        "spec.rules[0].from[0].source.principal",
        "did you mean 'principals'",
    ),
    (
        "source in to",
        doc(AP, {"rules": [{"to": [{"source": {"principals": ["a"]}}]}]}),
        "spec.rules[0].to[0].source",
        "unknown field 'source'",
    ),
    # --- string match values
    (
        "empty principal",
        doc(AP, rule_from(principals=[""])),
        "spec.rules[0].from[0].source.principals[0]",
        "empty value is not allowed",
    ),
    (
        "middle star principal",
        doc(AP, rule_from(principals=["cluster.local/ns/*/sa/x"])),
        "spec.rules[0].from[0].source.principals[0]",
        "'*' is only supported",
    ),
    (
        "both-end star namespace",
        doc(AP, rule_from(namespaces=["*test*"])),
        "spec.rules[0].from[0].source.namespaces[0]",
        "only at one end",
    ),
    (
        "empty trustDomains entry",
        doc(AP, rule_from(trustDomains=["cluster.local", ""])),
        "spec.rules[0].from[0].source.trustDomains[1]",
        "empty value is not allowed",
    ),
    (
        "middle star notTrustDomains",
        doc(AP, rule_from(notTrustDomains=["a*b"])),
        "spec.rules[0].from[0].source.notTrustDomains[0]",
        "only supported alone",
    ),
    (
        "middle star notRequestPrincipals",
        doc(AP, rule_from(notRequestPrincipals=["a*b"])),
        "spec.rules[0].from[0].source.notRequestPrincipals[0]",
        "'*' is only supported",
    ),
    (
        "empty notNamespaces value",
        doc(AP, rule_from(notNamespaces=[""])),
        "spec.rules[0].from[0].source.notNamespaces[0]",
        "empty value",
    ),
    (
        "middle star host",
        doc(AP, rule_to(hosts=["a.*.com"])),
        "spec.rules[0].to[0].operation.hosts[0]",
        "'*' is only supported",
    ),
    (
        "empty method",
        doc(AP, rule_to(notMethods=[""])),
        "spec.rules[0].to[0].operation.notMethods[0]",
        "empty value",
    ),
    (
        "middle star path",
        doc(AP, rule_to(paths=["/api/*/items"])),
        "spec.rules[0].to[0].operation.paths[0]",
        "'*' is only supported",
    ),
    (
        "bad path template",
        doc(AP, rule_to(paths=["/api/{id}/items"])),
        "spec.rules[0].to[0].operation.paths[0]",
        "invalid path template",
    ),
    (
        "double-star template not last",
        doc(AP, rule_to(notPaths=["/a/{**}/b"])),
        "spec.rules[0].to[0].operation.notPaths[0]",
        "must be the last segment",
    ),
    (
        "star with template",
        doc(AP, rule_to(paths=["/a/{*}/b*"])),
        "spec.rules[0].to[0].operation.paths[0]",
        "cannot be combined",
    ),
    # --- ports and IPs
    (
        "port not numeric",
        doc(AP, rule_to(ports=["http"])),
        "spec.rules[0].to[0].operation.ports[0]",
        "invalid port 'http'",
    ),
    (
        "port out of range",
        doc(AP, rule_to(notPorts=["70000"])),
        "spec.rules[0].to[0].operation.notPorts[0]",
        "from 1 to 65535",
    ),
    (
        "port zero",
        doc(AP, rule_to(ports=["0"])),
        "spec.rules[0].to[0].operation.ports[0]",
        "from 1 to 65535",
    ),
    (
        "port range",
        doc(AP, rule_to(ports=["8000-9000"])),
        "spec.rules[0].to[0].operation.ports[0]",
        "ranges and wildcards are not supported",
    ),
    (
        "bad ip block",
        doc(AP, rule_from(ipBlocks=["10.0.0.256"])),
        "spec.rules[0].from[0].source.ipBlocks[0]",
        "invalid IP block",
    ),
    (
        "bad cidr",
        doc(AP, rule_from(notIpBlocks=["10.0.0.0/33"])),
        "spec.rules[0].from[0].source.notIpBlocks[0]",
        "invalid IP block",
    ),
    (
        "bad remote ip",
        doc(AP, rule_from(remoteIpBlocks=["example.com"])),
        "spec.rules[0].from[0].source.remoteIpBlocks[0]",
        "invalid IP block",
    ),
    (
        "bad not remote ip",
        doc(AP, rule_from(notRemoteIpBlocks=[""])),
        "spec.rules[0].from[0].source.notRemoteIpBlocks[0]",
        "invalid IP block",
    ),
    # --- serviceAccounts
    (
        "service account format",
        doc(AP, rule_from(serviceAccounts=["sleep"])),
        "spec.rules[0].from[0].source.serviceAccounts[0]",
        "'<namespace>/<service-account>'",
    ),
    (
        "service account wildcard",
        doc(AP, rule_from(notServiceAccounts=["default/*"])),
        "spec.rules[0].from[0].source.notServiceAccounts[0]",
        "wildcards are not supported",
    ),
    (
        "service accounts with principals",
        doc(AP, rule_from(serviceAccounts=["default/sleep"], namespaces=["default"])),
        "spec.rules[0].from[0].source.serviceAccounts",
        "cannot be combined",
    ),
    (
        "too many service accounts",
        doc(AP, rule_from(serviceAccounts=[f"ns/sa{i}" for i in range(17)])),
        "spec.rules[0].from[0].source.serviceAccounts",
        "at most 16",
    ),
    # --- when conditions
    (
        "condition key missing",
        doc(AP, rule_when({"values": ["a"]})),
        "spec.rules[0].when[0].key",
        "required field is missing",
    ),
    (
        "condition needs values",
        doc(AP, rule_when({"key": "source.namespace"})),
        "spec.rules[0].when[0]",
        "needs `values` or `notValues`",
    ),
    (
        "unknown attribute",
        doc(AP, rule_when({"key": "request.method", "values": ["GET"]})),
        "spec.rules[0].when[0].key",
        "unknown attribute 'request.method'",
    ),
    (
        "misspelt attribute",
        doc(AP, rule_when({"key": "source.namespaces", "values": ["a"]})),
        "spec.rules[0].when[0].key",
        "did you mean 'source.namespace'",
    ),
    (
        "header key without name",
        doc(AP, rule_when({"key": "request.headers[]", "values": ["a"]})),
        "spec.rules[0].when[0].key",
        "should have the form request.headers[name]",
    ),
    (
        "header key without brackets",
        doc(AP, rule_when({"key": "request.headers", "values": ["a"]})),
        "spec.rules[0].when[0].key",
        "unknown attribute",
    ),
    (
        "claims key unterminated",
        doc(AP, rule_when({"key": "request.auth.claims[iss", "values": ["a"]})),
        "spec.rules[0].when[0].key",
        "request.auth.claims[name]",
    ),
    (
        "envoy filter key",
        doc(AP, rule_when({"key": "experimental.envoy.filters.x", "values": ["a"]})),
        "spec.rules[0].when[0].key",
        "bad key",
    ),
    (
        "source.ip value",
        doc(AP, rule_when({"key": "source.ip", "values": ["localhost"]})),
        "spec.rules[0].when[0].values[0]",
        "invalid IP block",
    ),
    (
        "remote.ip notValues",
        doc(AP, rule_when({"key": "remote.ip", "notValues": ["1.2.3"]})),
        "spec.rules[0].when[0].notValues[0]",
        "invalid IP block",
    ),
    (
        "destination.ip value",
        doc(AP, rule_when({"key": "destination.ip", "values": ["x"]})),
        "spec.rules[0].when[0].values[0]",
        "invalid IP block",
    ),
    (
        "destination.port value",
        doc(AP, rule_when({"key": "destination.port", "values": ["http"]})),
        "spec.rules[0].when[0].values[0]",
        "invalid port",
    ),
    (
        "condition empty value",
        doc(AP, rule_when({"key": "request.headers[x-a]", "values": [""]})),
        "spec.rules[0].when[0].values[0]",
        "empty value",
    ),
    (
        "condition value not a list",
        doc(AP, rule_when({"key": "source.ip", "values": "10.0.0.1"})),
        "spec.rules[0].when[0].values",
        "valid list",
    ),
    # --- PeerAuthentication
    ("mtls mode enum", doc(PA, {"mtls": {"mode": "ENABLED"}}), "spec.mtls.mode", "must be one of"),
    (
        "portLevelMtls without selector",
        doc(PA, {"portLevelMtls": {8080: {"mode": "DISABLE"}}}),
        "spec.portLevelMtls",
        "requires a workload selector",
    ),
    (
        "portLevelMtls with empty selector",
        doc(PA, {"selector": {"matchLabels": {}}, "portLevelMtls": {8080: {"mode": "STRICT"}}}),
        "spec.portLevelMtls",
        "requires a workload selector",
    ),
    (
        "port level port zero",
        doc(
            PA,
            {"selector": {"matchLabels": {"app": "a"}}, "portLevelMtls": {0: {"mode": "DISABLE"}}},
        ),
        "spec.portLevelMtls.0",
        "between 1 and 65535",
    ),
    (
        "port level port too big",
        doc(
            PA,
            {
                "selector": {"matchLabels": {"app": "a"}},
                "portLevelMtls": {65536: {"mode": "DISABLE"}},
            },
        ),
        "spec.portLevelMtls.65536",
        "between 1 and 65535",
    ),
    (
        "port level empty",
        doc(PA, {"selector": {"matchLabels": {"app": "a"}}, "portLevelMtls": {}}),
        "spec.portLevelMtls",
        "at least one port",
    ),
    (
        "port level mode enum",
        doc(
            PA, {"selector": {"matchLabels": {"app": "a"}}, "portLevelMtls": {80: {"mode": "OFF"}}}
        ),
        "spec.portLevelMtls[80].mode",
        "must be one of",
    ),
    (
        "mtls misspelt",
        doc(PA, {"mTLS": {"mode": "STRICT"}}),
        "spec.mTLS",
        "unknown field 'mTLS'; did you mean 'mtls'?",
    ),
    (
        "PeerAuthentication has no targetRefs",
        doc(PA, {"targetRefs": [{"kind": "Service", "name": "a"}]}),
        "spec.targetRefs",
        "unknown field",
    ),
    # --- RequestAuthentication
    (
        "issuer or jwksUri required",
        doc(RA, {"jwtRules": [{"audiences": ["shop"]}]}),
        "spec.jwtRules[0].issuer",
        "issuer or jwksUri must be set",
    ),
    (
        "jwks and jwksUri",
        doc(
            RA,
            {
                "jwtRules": [
                    {"issuer": "i", "jwksUri": "https://a/j", "jwks": '{"keys": [{"kty": "RSA"}]}'}
                ]
            },
        ),
        "spec.jwtRules[0].jwks",
        "mutually exclusive",
    ),
    (
        "jwksUri scheme",
        doc(RA, {"jwtRules": [{"issuer": "i", "jwksUri": "ftp://a/jwks"}]}),
        "spec.jwtRules[0].jwksUri",
        "http:// or https://",
    ),
    (
        "jwksUri relative",
        doc(RA, {"jwtRules": [{"issuer": "i", "jwksUri": "/jwks.json"}]}),
        "spec.jwtRules[0].jwksUri",
        "http:// or https://",
    ),
    (
        "jwksUri no host",
        doc(RA, {"jwtRules": [{"issuer": "i", "jwksUri": "https:///x"}]}),
        "spec.jwtRules[0].jwksUri",
        "no host",
    ),
    (
        "jwksUri bad port",
        doc(RA, {"jwtRules": [{"issuer": "i", "jwksUri": "https://a:99999/x"}]}),
        "spec.jwtRules[0].jwksUri",
        "port",
    ),
    (
        "jwks not json",
        doc(RA, {"jwtRules": [{"issuer": "i", "jwks": "not json"}]}),
        "spec.jwtRules[0].jwks",
        "not valid JSON",
    ),
    (
        "jwks no keys",
        doc(RA, {"jwtRules": [{"issuer": "i", "jwks": '{"keys": []}'}]}),
        "spec.jwtRules[0].jwks",
        "no keys",
    ),
    (
        "jwks key without kty",
        doc(RA, {"jwtRules": [{"issuer": "i", "jwks": '{"keys": [{"n": "x"}]}'}]}),
        "spec.jwtRules[0].jwks",
        "no 'kty'",
    ),
    (
        "jwks with no usable key",
        doc(
            RA,
            {
                "jwtRules": [
                    {"issuer": "i", "jwks": '{"keys": [{"kty": "RSA", "n": "abc", "e": "AQAB"}]}'}
                ]
            },
        ),
        "spec.jwtRules[0].jwks",
        "no key tokens can be verified with (key #0: the RSA modulus has 15 bits",
    ),
    (
        "jwks EC point off the curve",
        doc(
            RA,
            {
                "jwtRules": [
                    {"issuer": "i", "jwks": '{"kty": "EC", "crv": "P-256", "x": "AQ", "y": "AQ"}'}
                ]
            },
        ),
        "spec.jwtRules[0].jwks",
        "not on the curve",
    ),
    (
        "empty audience",
        doc(RA, {"jwtRules": [{"issuer": "i", "audiences": [""]}]}),
        "spec.jwtRules[0].audiences[0]",
        "non-empty",
    ),
    (
        "fromHeaders name",
        doc(RA, {"jwtRules": [{"issuer": "i", "fromHeaders": [{"prefix": "Bearer "}]}]}),
        "spec.jwtRules[0].fromHeaders[0].name",
        "required field is missing",
    ),
    (
        "fromHeaders bad name",
        doc(RA, {"jwtRules": [{"issuer": "i", "fromHeaders": [{"name": "x token"}]}]}),
        "spec.jwtRules[0].fromHeaders[0].name",
        "invalid header name",
    ),
    (
        "fromParams empty",
        doc(RA, {"jwtRules": [{"issuer": "i", "fromParams": [""]}]}),
        "spec.jwtRules[0].fromParams[0]",
        "non-empty",
    ),
    (
        "fromCookies empty",
        doc(RA, {"jwtRules": [{"issuer": "i", "fromCookies": [""]}]}),
        "spec.jwtRules[0].fromCookies[0]",
        "non-empty",
    ),
    (
        "claim header invalid",
        doc(
            RA,
            {
                "jwtRules": [
                    {"issuer": "i", "outputClaimToHeaders": [{"header": "x:claim", "claim": "sub"}]}
                ]
            },
        ),
        "spec.jwtRules[0].outputClaimToHeaders[0].header",
        "invalid header name",
    ),
    (
        "claim header missing",
        doc(RA, {"jwtRules": [{"issuer": "i", "outputClaimToHeaders": [{"claim": "sub"}]}]}),
        "spec.jwtRules[0].outputClaimToHeaders[0].header",
        "required field is missing",
    ),
    (
        "claim missing",
        doc(RA, {"jwtRules": [{"issuer": "i", "outputClaimToHeaders": [{"header": "x-sub"}]}]}),
        "spec.jwtRules[0].outputClaimToHeaders[0].claim",
        "required field is missing",
    ),
    (
        "payload header invalid",
        doc(RA, {"jwtRules": [{"issuer": "i", "outputPayloadToHeader": "x payload"}]}),
        "spec.jwtRules[0].outputPayloadToHeader",
        "invalid header name",
    ),
    (
        "timeout negative",
        doc(RA, {"jwtRules": [{"issuer": "i", "timeout": "-5s"}]}),
        "spec.jwtRules[0].timeout",
        "must be positive",
    ),
    (
        "timeout zero",
        doc(RA, {"jwtRules": [{"issuer": "i", "timeout": "0s"}]}),
        "spec.jwtRules[0].timeout",
        "must be positive",
    ),
    (
        "timeout syntax",
        doc(RA, {"jwtRules": [{"issuer": "i", "timeout": "5 seconds"}]}),
        "spec.jwtRules[0].timeout",
        "invalid duration",
    ),
    (
        "space delimited claim empty",
        doc(RA, {"jwtRules": [{"issuer": "i", "spaceDelimitedClaims": [""]}]}),
        "spec.jwtRules[0].spaceDelimitedClaims[0]",
        "must not be empty",
    ),
    (
        "RA selector and targetRef",
        doc(
            RA,
            {
                "selector": {"matchLabels": {"app": "a"}},
                "targetRef": {
                    "kind": "Gateway",
                    "group": "gateway.networking.k8s.io",
                    "name": "gw",
                },
            },
        ),
        "spec.targetRef",
        "mutually exclusive",
    ),
    (
        "jwtRules misspelt",
        doc(RA, {"jwtRule": [{"issuer": "i"}]}),
        "spec.jwtRule",
        "did you mean 'jwtRules'",
    ),
    # --- metadata
    (
        "bad label value",
        doc(PA, {}, labels={"app": "has space"}),
        "metadata.labels.app",
        "invalid label value",
    ),
    ("bad namespace", doc(PA, {}, namespace="Foo_Bar"), "metadata.namespace", "RFC 1123 label"),
    # --- targets: Istio's CRD refuses any namespace on a reference, even the policy's own
    (
        "cross-namespace targetRef",
        doc(AP, {"targetRefs": [{"kind": "Service", "name": "a", "namespace": "other"}]}),
        "spec.targetRefs[0].namespace",
        "cross namespace referencing is not currently supported",
    ),
    (
        "own-namespace targetRef",
        doc(
            RA,
            {
                "targetRef": {
                    "group": "gateway.networking.k8s.io",
                    "kind": "Gateway",
                    "name": "gw",
                    "namespace": "default",
                }
            },
        ),
        "spec.targetRef.namespace",
        "cross namespace referencing",
    ),
]


@pytest.mark.parametrize(
    ("text", "path", "fragment"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid(text: str, path: str, fragment: str) -> None:
    assert_problem(text, path, fragment)
    assert not load_text(text).resources


WARNINGS: list[tuple[str, str, str, str]] = [
    (
        "spiffe prefix",
        doc(AP, rule_from(principals=["spiffe://cluster.local/ns/a/sa/b"])),
        "spec.rules[0].from[0].source.principals[0]",
        "use 'cluster.local/ns/a/sa/b'",
    ),
    (
        "spiffe prefix in condition",
        doc(
            AP,
            rule_when({"key": "source.principal", "values": ["spiffe://cluster.local/ns/a/sa/b"]}),
        ),
        "spec.rules[0].when[0].values[0]",
        "without the 'spiffe://' prefix",
    ),
    (
        "lowercase method",
        doc(AP, rule_to(methods=["get"])),
        "spec.rules[0].to[0].operation.methods[0]",
        "write 'GET'",
    ),
    (
        "relative path",
        doc(AP, rule_to(paths=["api/v1"])),
        "spec.rules[0].to[0].operation.paths[0]",
        "did you mean '/api/v1'",
    ),
    (
        "empty selector",
        doc(AP, {"selector": {"matchLabels": {}}}),
        "spec.selector.matchLabels",
        "selects every workload",
    ),
    (
        "invalid selector label",
        doc(PA, {"selector": {"matchLabels": {"app": "a b"}}}),
        "spec.selector.matchLabels.app",
        "matches nothing",
    ),
    (
        "custom with request principals",
        doc(
            AP,
            {
                "action": "CUSTOM",
                "provider": {"name": "ext"},
                "rules": [{"from": [{"source": {"requestPrincipals": ["*"]}}]}],
            },
        ),
        "spec.rules[0].from[0].source.requestPrincipals",
        "CUSTOM action",
    ),
    (
        "duplicate claim header",
        doc(
            RA,
            {
                "jwtRules": [
                    {
                        "issuer": "i",
                        "outputClaimToHeaders": [
                            {"header": "x-a", "claim": "a"},
                            {"header": "X-A", "claim": "b"},
                        ],
                    }
                ]
            },
        ),
        "spec.jwtRules[0].outputClaimToHeaders[1].header",
        "overwrites",
    ),
    (
        "jwks key left out",
        doc(
            RA,
            {
                "jwtRules": [
                    {
                        "issuer": "i",
                        "jwks": '{"keys": [{"kty": "oct", "k": "c2VjcmV0"}, {"kty": "OKP", "crv": "X25519", "x": "AQ"}]}',
                    }
                ]
            },
        ),
        "spec.jwtRules[0].jwks",
        "key #1 is left out: OKP curve 'X25519' is not Ed25519",
    ),
]


@pytest.mark.parametrize(
    ("text", "path", "fragment"), [c[1:] for c in WARNINGS], ids=[c[0] for c in WARNINGS]
)
def test_warning(text: str, path: str, fragment: str) -> None:
    assert_problem(text, path, fragment, Level.WARNING)
    assert load_text(text).resources, "a warning must not reject the object"


def test_many_problems_reported_at_once() -> None:
    text = doc(
        AP,
        {
            "rules": [
                {
                    "from": [{"source": {"ipBlocks": ["x"], "principals": [""]}}],
                    "to": [{"operation": {"ports": ["y"]}}],
                    "when": [{"key": "nope", "values": ["1"]}],
                },
            ]
        },
    )
    paths = {p.path for p in problems_of(text) if p.level is Level.ERROR}
    assert {
        "spec.rules[0].from[0].source.ipBlocks[0]",
        "spec.rules[0].from[0].source.principals[0]",
        "spec.rules[0].to[0].operation.ports[0]",
        "spec.rules[0].when[0].key",
    } <= paths


def test_problem_lines_point_at_the_field() -> None:
    text = doc(AP, rule_to(ports=["80", "x"]))
    [problem] = [p for p in problems_of(text) if p.level is Level.ERROR]
    assert problem.source is not None
    assert text.splitlines()[problem.source.line - 1].strip().startswith("- x")


def test_trust_domains_are_accepted_and_enforced() -> None:
    """Istio 1.30's ``source.trustDomains``/``notTrustDomains`` load and are enforced (the
    peer identity's trust domain, see sailmesh.xds.authz.attributes)."""
    from sailmesh.config.unenforced import find_unenforced

    text = doc(AP, rule_from(trustDomains=["cluster.local"], notTrustDomains=["old.td"]))
    result = load_text(text)
    assert result.ok, result.problems
    (policy,) = result.resources
    source = policy.spec.rules[0].from_[0].source
    assert (source.trust_domains, source.not_trust_domains) == (["cluster.local"], ["old.td"])
    assert policy.to_dict()["spec"]["rules"][0]["from"][0]["source"]["trustDomains"] == [
        "cluster.local"
    ]
    assert find_unenforced(policy) == []


def test_issuer_is_optional_with_a_jwks_uri() -> None:
    """Current Istio: a rule needs its issuer or its jwksUri (without an issuer, tokens of any
    ``iss`` that the key set verifies are accepted)."""
    result = load_text(doc(RA, {"jwtRules": [{"jwksUri": "https://a/jwks.json"}]}))
    assert result.ok, result.problems


def test_defaults() -> None:
    text = doc(AP, {}) + "---\n" + doc(PA, {"mtls": {}})
    ap, pa = load_text(text).resources
    assert ap.spec.action == "ALLOW"
    assert pa.spec.mtls.mode == "UNSET"


def test_both_versions_served() -> None:
    for version in ("v1", "v1beta1"):
        for kind in (AP, PA, RA):
            assert load_text(doc(kind, {}, version)).ok


def test_from_alias_round_trips() -> None:
    [res] = load_text(doc(AP, rule_from(namespaces=["ns1"]))).resources
    assert res.spec.rules[0].from_[0].source.namespaces == ["ns1"]
    assert res.to_dict()["spec"]["rules"][0]["from"][0]["source"]["namespaces"] == ["ns1"]
