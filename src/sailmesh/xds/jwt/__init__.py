"""RequestAuthentication -> Envoy's ``envoy.filters.http.jwt_authn`` filter, with Istio's semantics.

In: a proxy's :class:`~sailmesh.xds.scope.ProxyScope` (its namespace, labels, type and the
snapshot's RequestAuthentication objects). Out: the jwt_authn HTTP filter that
:func:`sailmesh.xds.request_security.request_filters` puts first on inbound and gateway HTTP
connection managers (nothing when no policy applies), and the route matchers for VirtualService
``@request.auth.claims.<claim>`` header matches (:mod:`~sailmesh.xds.jwt.claims`).

- :mod:`~sailmesh.xds.jwt.select`: which policies apply to a proxy (mesh-wide in the root
  namespace, namespace-wide, ``selector``, ``targetRef(s)`` naming Kubernetes Gateway API
  gateways);
- :mod:`~sailmesh.xds.jwt.provider`: one ``jwtRules`` entry -> one ``JwtProvider`` (issuer,
  audiences, inline ``jwks`` or ``jwksUri`` fetched by Envoy through the outbound cluster of the
  key server's host, token locations, outputs);
- :mod:`~sailmesh.xds.jwt.authn`: the providers and Istio's requirement (a token, when
  present, must be valid for one provider; no token passes without identity);
- :mod:`~sailmesh.xds.jwt.claims`: claim paths in the verified payload as route matchers.

Every provider writes its verified payload to dynamic metadata namespace
``envoy.filters.http.jwt_authn`` (Envoy's fixed namespace for this filter), key ``payload``:
what the RBAC filters and claim routes read.
"""

from __future__ import annotations

from sailmesh.xds.jwt.authn import jwt_authn_filters
from sailmesh.xds.jwt.claims import CLAIM_PREFIX, claim_matcher
from sailmesh.xds.jwt.provider import JWT_AUTHN_FILTER, PAYLOAD_KEY

__all__ = [
    "CLAIM_PREFIX",
    "JWT_AUTHN_FILTER",
    "PAYLOAD_KEY",
    "claim_matcher",
    "jwt_authn_filters",
]
