"""Where authentication and authorization filters enter a proxy's listeners.

In: a proxy's scope (its workload labels, namespace and the snapshot's PeerAuthentication,
RequestAuthentication and AuthorizationPolicy objects, via ``snapshot.policies_for``) and the
port a listener serves. Out: the HTTP filters that go before the router of an inbound or
gateway HTTP connection manager, and the network filters that go before ``tcp_proxy`` on an
inbound TCP chain.

The HTTP filters come in Istio's order: ``envoy.filters.http.jwt_authn`` (RequestAuthentication,
:mod:`sailmesh.xds.jwt`), ``envoy.filters.http.ext_authz`` (CUSTOM policies),
then the RBAC filters (DENY, then ALLOW, AUDIT as shadow). The JWT filter records each valid
token's payload in dynamic metadata under namespace ``envoy.filters.http.jwt_authn``, key
``payload`` (``payload_in_metadata: payload`` on every provider), and the RBAC rules that look
at request principals (``iss/sub``) and ``request.auth.*`` read it from there.
"""

from __future__ import annotations

from envoy.config.accesslog.v3 import accesslog_pb2
from envoy.config.listener.v3 import listener_components_pb2 as lc_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)

from sailmesh.xds.authz import filters as authz
from sailmesh.xds.authz.audit import audit_log
from sailmesh.xds.authz.selection import applied_policies
from sailmesh.xds.jwt import jwt_authn_filters
from sailmesh.xds.scope import ProxyScope

#: Dynamic metadata the JWT filter writes and RBAC reads (see the module docstring).
JWT_METADATA_NAMESPACE = "envoy.filters.http.jwt_authn"
JWT_PAYLOAD_KEY = "payload"


def request_filters(scope: ProxyScope, port: int) -> list[hcm_pb2.HttpFilter]:
    """HTTP filters for requests reaching ``scope``'s proxy on ``port`` (a workload's target
    port on a sidecar, a server port on a gateway), before the router."""
    # jwt_authn (RequestAuthentication) goes first: RBAC reads the payloads it records.
    return [*jwt_authn_filters(scope), *_authorization_http(scope)]


def connection_filters(scope: ProxyScope, port: int) -> list[lc_pb2.Filter]:
    """Network filters for TCP connections reaching the workload's ``port``, before
    ``tcp_proxy`` (also used for the inbound passthrough chain, whose port is 0: connections
    to ports no service declares are authorized as TCP, as Istio does)."""
    return _authorization_network(scope)


def audit_logs(scope: ProxyScope, path: str) -> list[accesslog_pb2.AccessLog]:
    """The audit log (:mod:`sailmesh.xds.authz.audit`) for the connection managers and TCP
    proxies of ``scope``'s proxy when AUDIT policies apply to it (``path``: its access log)."""
    audited = scope.memo.get("authz-audited")
    if audited is None:
        audited = scope.memo["authz-audited"] = bool(
            applied_policies(scope.snapshot, scope.proxy).audit
        )
    return [audit_log(path)] if audited else []


def _authorization_http(scope: ProxyScope) -> list[hcm_pb2.HttpFilter]:
    """The CUSTOM, AUDIT, DENY and ALLOW filters (:mod:`sailmesh.xds.authz`), the same for
    every port of the proxy (``ports`` in rules are matched by Envoy on the destination
    port), built once per scope."""
    found = scope.memo.get("authz-http")
    if found is None:
        found = scope.memo["authz-http"] = authz.http_filters(scope.snapshot, scope.proxy)
    return list(found)


def _authorization_network(scope: ProxyScope) -> list[lc_pb2.Filter]:
    found = scope.memo.get("authz-network")
    if found is None:
        found = scope.memo["authz-network"] = authz.network_filters(scope.snapshot, scope.proxy)
    return list(found)
