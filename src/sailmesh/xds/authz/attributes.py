"""Each attribute an AuthorizationPolicy can test, as Envoy RBAC principals or permissions.

In: an attribute (a ``from.source`` field, a ``to.operation`` field, or a ``when`` key such as
``request.headers[x-user]``) and the values it must have. Out: one RBAC ``Principal`` (who
asks: peer identity, addresses, request identity, headers, claims) or ``Permission`` (what is
asked: host, method, path, destination port/IP, SNI, metadata) matching any of the values.

An :class:`Attribute` knows whether Envoy can test it on a plain TCP connection
(``http_only``): request principals, ``request.*`` keys, hosts, methods and paths cannot, and
:mod:`sailmesh.xds.authz.rules` applies Istio's rule for them on TCP ports.

Peer identities (``principals``, ``namespaces``, ``serviceAccounts``, ``trustDomains``,
``source.*``) match the URI SAN of the client certificate (``authenticated.principal_name``):
they only match over mutual TLS. A principal in the mesh's trust domain, an alias of it, or
``cluster.local`` matches in the trust domain and every alias (Istio's trust domain migration).
Request principals ``<iss>/<sub>`` are split at the last ``/`` (issuers are URLs), so, as in
Istio, a subject containing ``/`` cannot be named.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from envoy.config.rbac.v3.rbac_pb2 import Permission, Principal
from envoy.type.matcher.v3 import string_pb2

from sailmesh.xds.authz import matchers

Side = Literal["principal", "permission"]
PrincipalBuilder = Callable[[Sequence[str]], list[Principal]]
PermissionBuilder = Callable[[Sequence[str]], list[Permission]]


@dataclass(frozen=True)
class Attribute:
    """How one attribute is tested: on the principal or permission side, HTTP only or not."""

    key: str
    side: Side
    http_only: bool
    principals: PrincipalBuilder | None = None
    permissions: PermissionBuilder | None = None


def _authenticated(matcher: string_pb2.StringMatcher) -> Principal:
    return Principal(authenticated=Principal.Authenticated(principal_name=matcher))


def trust_domain_variants(value: str, trust_domains: Sequence[str]) -> list[str]:
    """``value`` once per trust domain of the mesh (Istio's trust domain migration): a principal
    ``<td>/ns/<ns>/sa/<sa>`` whose trust domain is the mesh's, one of its aliases, or
    ``cluster.local`` (which always names the local domain) matches in every one of them.
    Wildcard-first values and other shapes stay as written."""
    parts = value.split("/")
    if not trust_domains or value.startswith("*") or len(parts) != 5:
        return [value]
    if parts[0] not in trust_domains and parts[0] != "cluster.local":
        return [value]
    rest = "/".join(parts[1:])
    return [f"{domain}/{rest}" for domain in dict.fromkeys(trust_domains)]


def _peer_principals(trust_domains: Sequence[str]) -> PrincipalBuilder:
    def build(values: Sequence[str]) -> list[Principal]:
        return [
            _authenticated(matchers.string(variant, matchers.SPIFFE_PREFIX))
            for value in values
            for variant in trust_domain_variants(value, trust_domains)
        ]

    return build


def _wildcard(value: str) -> str:
    return ".*".join(re.escape(part) for part in value.split("*"))


def _peer_namespaces(values: Sequence[str]) -> list[Principal]:
    return [_authenticated(matchers.regex(f".*/ns/{_wildcard(v)}/.*")) for v in values]


def _peer_trust_domains(values: Sequence[str]) -> list[Principal]:
    """``trustDomains`` (Istio 1.30): the trust domain of the peer's SPIFFE identity, with
    Istio's ``*``, prefix and suffix wildcards within the domain."""
    return [_authenticated(matchers.regex(f"spiffe://{_domain_pattern(v)}/.*")) for v in values]


def _domain_pattern(value: str) -> str:
    if value == "*":
        return "[^/]+"
    if value.startswith("*"):
        return "[^/]*" + re.escape(value[1:])
    if value.endswith("*"):
        return re.escape(value[:-1]) + "[^/]*"
    return re.escape(value)


def service_account_regex(value: str, namespace: str) -> str:
    """``ns/sa`` (or ``sa`` in the policy's namespace) as a regex on the SPIFFE URI, allowing
    further ``key/value`` segments around ``sa/<name>`` as Istio does."""
    ns, sep, sa = value.partition("/")
    if not sep:
        ns, sa = namespace, value
    return f"spiffe://.+/ns/{re.escape(ns)}/(.+/|)sa/{re.escape(sa)}(/.+)?"


def _peer_service_accounts(namespace: str) -> PrincipalBuilder:
    def build(values: Sequence[str]) -> list[Principal]:
        return [_authenticated(matchers.regex(service_account_regex(v, namespace))) for v in values]

    return build


def _cidrs(kind: Literal["direct_remote_ip", "remote_ip"]) -> PrincipalBuilder:
    def build(values: Sequence[str]) -> list[Principal]:
        found = []
        for value in values:
            if matchers.valid_cidr(value):
                principal = Principal()
                getattr(principal, kind).CopyFrom(matchers.cidr(value))
                found.append(principal)
        return found

    return build


_ANY = matchers.regex(".+")


def _issuer_subject(value: str) -> tuple[string_pb2.StringMatcher, string_pb2.StringMatcher]:
    """Matchers of ``iss`` and ``sub`` for a request principal ``<iss>/<sub>`` pattern."""
    iss, sep, sub = value.rpartition("/")
    if value == "*":
        return _ANY, _ANY
    if not sep:  # no "/": the whole value names the issuer (prefix) or the subject (suffix)
        if value.startswith("*"):
            return _ANY, string_pb2.StringMatcher(suffix=value[1:])
        if value.endswith("*"):
            return string_pb2.StringMatcher(prefix=value[:-1]), _ANY
        return string_pb2.StringMatcher(exact=value), string_pb2.StringMatcher(exact="")
    if value.startswith("*"):
        issuer = _ANY if iss == "*" else string_pb2.StringMatcher(suffix=iss[1:])
        return issuer, string_pb2.StringMatcher(exact=sub)
    if value.endswith("*"):
        subject = _ANY if sub == "*" else string_pb2.StringMatcher(prefix=sub[:-1])
        return string_pb2.StringMatcher(exact=iss), subject
    return string_pb2.StringMatcher(exact=iss), string_pb2.StringMatcher(exact=sub)


def _request_principals(values: Sequence[str]) -> list[Principal]:
    found = []
    for value in values:
        iss, sub = _issuer_subject(value)
        both = [
            Principal(metadata=matchers.claim_string("iss", iss)),
            Principal(metadata=matchers.claim_string("sub", sub)),
        ]
        found.append(Principal(and_ids=Principal.Set(ids=both)))
    return found


def _claims(path: Sequence[str]) -> PrincipalBuilder:
    def build(values: Sequence[str]) -> list[Principal]:
        return [Principal(metadata=matchers.claim(path, values))] if values else []

    return build


def _headers(name: str) -> PrincipalBuilder:
    def build(values: Sequence[str]) -> list[Principal]:
        return [Principal(header=matchers.header(name, v)) for v in values]

    return build


def _hosts(values: Sequence[str]) -> list[Permission]:
    return [Permission(header=matchers.host(v)) for v in values]


def _methods(values: Sequence[str]) -> list[Permission]:
    return [Permission(header=matchers.header(":method", v)) for v in values]


def _paths(values: Sequence[str]) -> list[Permission]:
    return [
        Permission(uri_template=matchers.path_template(v))
        if matchers.is_path_template(v)
        else Permission(url_path=matchers.path(v))
        for v in values
    ]


def _ports(values: Sequence[str]) -> list[Permission]:
    return [
        Permission(destination_port=int(v)) for v in values if v.isdigit() and 0 <= int(v) <= 65535
    ]


def _destination_ips(values: Sequence[str]) -> list[Permission]:
    return [Permission(destination_ip=matchers.cidr(v)) for v in values if matchers.valid_cidr(v)]


def _server_names(values: Sequence[str]) -> list[Permission]:
    return [Permission(requested_server_name=matchers.string(v)) for v in values]


def _envoy_metadata(key: str) -> PermissionBuilder | None:
    """``experimental.envoy.filters.<name>[<key>]`` -> the named filter's dynamic metadata."""
    names = key.removeprefix("experimental.")
    filter_name, _, rest = names.partition("[")
    if not rest.endswith("]") or not filter_name:
        return None
    field = rest[:-1]

    def build(values: Sequence[str]) -> list[Permission]:
        if not values:
            return []
        return [Permission(metadata=matchers.metadata_value(filter_name, field, values))]

    return build


def _principal(key: str, http_only: bool, build: PrincipalBuilder) -> Attribute:
    return Attribute(key, "principal", http_only, principals=build)


def _permission(key: str, http_only: bool, build: PermissionBuilder) -> Attribute:
    return Attribute(key, "permission", http_only, permissions=build)


def source_attributes(namespace: str, trust_domains: Sequence[str] = ()) -> dict[str, Attribute]:
    """``from.source`` fields (Python names) -> attributes, for a policy in ``namespace`` of a
    mesh whose trust domain and aliases are ``trust_domains`` (none: principals as written)."""
    return {
        "principals": _principal("source.principal", False, _peer_principals(trust_domains)),
        "trust_domains": _principal("source.trustDomain", False, _peer_trust_domains),
        "service_accounts": _principal(
            "source.serviceAccount", False, _peer_service_accounts(namespace)
        ),
        "request_principals": _principal("request.auth.principal", True, _request_principals),
        "namespaces": _principal("source.namespace", False, _peer_namespaces),
        "remote_ip_blocks": _principal("remote.ip", False, _cidrs("remote_ip")),
        "ip_blocks": _principal("source.ip", False, _cidrs("direct_remote_ip")),
    }


#: ``to.operation`` fields (Python names) -> attributes, in Istio's order.
OPERATION_ATTRIBUTES: dict[str, Attribute] = {
    "hosts": _permission("hosts", True, _hosts),
    "methods": _permission("methods", True, _methods),
    "paths": _permission("paths", True, _paths),
    "ports": _permission("destination.port", False, _ports),
}


def when_attribute(key: str, trust_domains: Sequence[str] = ()) -> Attribute | None:
    """The attribute a ``when`` key names (None for a key Istio does not accept)."""
    fixed: dict[str, Attribute] = {
        "source.ip": _principal(key, False, _cidrs("direct_remote_ip")),
        "remote.ip": _principal(key, False, _cidrs("remote_ip")),
        "source.namespace": _principal(key, False, _peer_namespaces),
        "source.principal": _principal(key, False, _peer_principals(trust_domains)),
        "request.auth.principal": _principal(key, True, _request_principals),
        "request.auth.audiences": _principal(key, True, _claims(["aud"])),
        "request.auth.presenter": _principal(key, True, _claims(["azp"])),
        "destination.ip": _permission(key, False, _destination_ips),
        "destination.port": _permission(key, False, _ports),
        "connection.sni": _permission(key, False, _server_names),
    }
    if key in fixed:
        return fixed[key]
    if key.startswith("request.headers["):
        names = matchers.bracketed(key.removeprefix("request.headers"))
        return _principal(key, True, _headers(names[0])) if names and len(names) == 1 else None
    if key.startswith("request.auth.claims["):
        path = matchers.bracketed(key.removeprefix("request.auth.claims"))
        return _principal(key, True, _claims(path)) if path else None
    if key.startswith("experimental.envoy.filters."):
        build = _envoy_metadata(key)
        return _permission(key, False, build) if build is not None else None
    return None
