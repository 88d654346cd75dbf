"""One RequestAuthentication ``jwtRules`` entry -> one Envoy ``JwtProvider`` (as Istio builds it).

In: the rule (a typed :class:`~sailmesh.config.models.security.JWTRule`), the namespace of its
policy, the proxy's scope (to find the key server's cluster) and whether the proxy is a gateway.
Out: the provider:

- ``issuer``, ``audiences`` (a token must carry one of them when set);
- keys: ``jwks`` inline (``local_jwks``), or ``jwksUri`` fetched by Envoy itself
  (``remote_jwks``) through the outbound cluster of the URI's host and port, which must be a
  service the proxy knows (a Kubernetes Service or a ServiceEntry; ``name``, ``name.ns`` and
  ``name.ns.svc`` resolve like cluster DNS would, bare names in the policy's namespace), with
  ``timeout`` (default 5 s) and a 5 minute key cache. When no such service exists the cluster
  name is still Istio's ``outbound|<port>||<host>``: the fetch fails and every token of that
  issuer is refused (fail closed). An ``https`` URI gets TLS only from the cluster
  (a DestinationRule's ``tls``), as in Istio. Inline sets keep only keys Envoy can use
  (:mod:`~sailmesh.xds.jwt.keys`). A rule with neither (Istio's OpenID discovery of the
  issuer, which needs the control plane to fetch) gets a key set that verifies nothing, so
  its tokens are refused too (also reported as not enforced);
- token locations ``fromHeaders`` (name, prefix), ``fromParams``, ``fromCookies`` (Envoy's
  defaults, ``Authorization: Bearer`` and ``access_token``, when none is given);
- ``forwardOriginalToken`` (false: Envoy strips the token header after verification),
  ``outputPayloadToHeader`` (the payload, base64url), ``outputClaimToHeaders``;
- ``payload_in_metadata: payload`` always, with ``scope``, ``permission`` and the rule's
  ``spaceDelimitedClaims`` turned into lists there (for RBAC and claim routes);
- ``clear_route_cache`` on gateways: routes matching claims are chosen after verification.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from envoy.config.core.v3 import http_uri_pb2
from envoy.extensions.filters.http.jwt_authn.v3 import config_pb2 as jwt_pb2

from sailmesh.config.models.security import JWTRule
from sailmesh.snapshot.hosts import DOMAIN_SUFFIX
from sailmesh.xds import names, pb
from sailmesh.xds.jwt.keys import NO_KEYS, usable_key_set
from sailmesh.xds.scope import ProxyScope

#: The filter's name, which is also the dynamic metadata namespace it writes to.
JWT_AUTHN_FILTER = "envoy.filters.http.jwt_authn"
#: The metadata key of the verified payload (``payload_in_metadata``).
PAYLOAD_KEY = "payload"
#: Claims Istio always treats as space-delimited (``"read write"`` -> ``["read", "write"]``).
DEFAULT_SPACE_DELIMITED = ("permission", "scope")
DEFAULT_FETCH_TIMEOUT_NANOS = 5_000_000_000
JWKS_CACHE_SECONDS = 300


def build_provider(
    rule: JWTRule, policy_namespace: str, scope: ProxyScope, gateway: bool
) -> jwt_pb2.JwtProvider:
    """The Envoy provider enforcing ``rule``."""
    provider = jwt_pb2.JwtProvider(
        issuer=rule.issuer or "",
        audiences=list(rule.audiences or []),
        forward=bool(rule.forward_original_token),
        forward_payload_header=rule.output_payload_to_header or "",
        payload_in_metadata=PAYLOAD_KEY,
        from_params=list(rule.from_params or []),
        from_cookies=list(rule.from_cookies or []),
        clear_route_cache=gateway,
    )
    claims = sorted({*DEFAULT_SPACE_DELIMITED, *(rule.space_delimited_claims or [])})
    provider.normalize_payload_in_metadata.space_delimited_claims.extend(claims)
    for location in rule.from_headers or []:
        provider.from_headers.add(name=location.name or "", value_prefix=location.prefix or "")
    for output in rule.output_claim_to_headers or []:
        provider.claim_to_headers.add(
            header_name=output.header or "", claim_name=output.claim or ""
        )
    if rule.jwks:
        provider.local_jwks.CopyFrom(pb.data_source(usable_key_set(rule.jwks)))
    elif rule.jwks_uri:
        provider.remote_jwks.CopyFrom(_remote_jwks(rule, policy_namespace, scope))
    else:
        provider.local_jwks.CopyFrom(pb.data_source(NO_KEYS))
    return provider


def _remote_jwks(rule: JWTRule, policy_namespace: str, scope: ProxyScope) -> jwt_pb2.RemoteJwks:
    uri = rule.jwks_uri or ""
    timeout = rule.timeout.nanos if rule.timeout is not None else DEFAULT_FETCH_TIMEOUT_NANOS
    remote = jwt_pb2.RemoteJwks(
        http_uri=http_uri_pb2.HttpUri(
            uri=uri,
            cluster=jwks_cluster(uri, policy_namespace, scope),
            timeout=pb.duration(timeout),
        )
    )
    remote.cache_duration.seconds = JWKS_CACHE_SECONDS
    return remote


def jwks_cluster(uri: str, policy_namespace: str, scope: ProxyScope) -> str:
    """The outbound cluster Envoy fetches ``uri`` through (see the module docstring)."""
    parts = urlsplit(uri)
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for candidate in _host_forms(host, policy_namespace):
        service = scope.service(candidate)
        if service is not None and service.port(port) is not None:
            return names.outbound_cluster(port, "", candidate)
    return names.outbound_cluster(port, "", host)


def _host_forms(host: str, namespace: str) -> list[str]:
    """``host`` as written, then the cluster-DNS expansions of its short forms."""
    labels = host.split(".")
    forms = [host]
    if len(labels) == 1:
        forms.append(f"{host}.{namespace}.{DOMAIN_SUFFIX}")
    elif len(labels) == 2:
        forms.append(f"{host}.{DOMAIN_SUFFIX}")
    elif len(labels) == 3 and labels[2] == "svc":
        forms.append(f"{host}.{DOMAIN_SUFFIX.removeprefix('svc.')}")
    return forms
