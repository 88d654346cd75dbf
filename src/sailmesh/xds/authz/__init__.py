"""AuthorizationPolicy -> Envoy RBAC and ext_authz filters (pure translation).

In: a proxy and the snapshot (its AuthorizationPolicies, the mesh's extension providers and the
registry). Out: the HTTP filters that go before the router of an inbound or gateway HTTP
connection manager and the network filters that go before ``tcp_proxy`` on an inbound TCP
chain; :mod:`sailmesh.xds.request_security` places them after the JWT filter.

- :mod:`~sailmesh.xds.authz.selection`: which policies apply (root namespace, namespace,
  selector, targetRef), by action, dry-run apart;
- :mod:`~sailmesh.xds.authz.matchers`: Istio's value matching as Envoy matchers;
- :mod:`~sailmesh.xds.authz.attributes`: every source/operation field and ``when`` key as an
  RBAC principal or permission;
- :mod:`~sailmesh.xds.authz.rules`: one rule -> one RBAC policy (with Istio's handling of
  HTTP-only fields on TCP);
- :mod:`~sailmesh.xds.authz.ext_authz`: CUSTOM providers as ext_authz filters;
- :mod:`~sailmesh.xds.authz.filters`: the filters in evaluation order
  (CUSTOM -> AUDIT -> DENY -> ALLOW);
- :mod:`~sailmesh.xds.authz.audit`: the access log that records what AUDIT policies mark.
"""
