"""Validation of security.istio.io kinds.

In: typed PeerAuthentication, AuthorizationPolicy and RequestAuthentication resources. Out:
problems with field paths. ``authn`` checks the authentication kinds, ``authz`` the rules of
AuthorizationPolicy, ``common`` the selector/targetRef/match checks the other policy kinds
(telemetry, extensions) share, ``jwks`` whether Envoy can use an inline JWK.
"""
