"""A Sidecar's egress listeners, each a view of the services and VirtualServices it imports.

In: a capturing sidecar's :class:`~sailmesh.xds.scope.ProxyScope`. Out: one
:class:`EgressView` per ``spec.egress[]`` entry, in order, when at least one of them has a
``port`` (otherwise the merged host list of the scope is all there is, and the translators use
the scope as it is).

Istio's semantics:

- an egress listener with a ``port`` gets an outbound listener of its own for that port (of the
  listener's ``protocol``), with only its ``hosts``' services and VirtualServices; an HTTP one
  uses the route config ``"<port>"`` (``"<bind>:<port>"`` when it listens on another address)
  built from that view only;
- the listener without a port is the catch-all: the outbound listeners of its hosts' services on
  every port, except where a port listener already holds the same address and port (listeners
  are unique by address and port; the first in the list wins);
- ``bind`` is the listener's address; ``captureMode: NONE`` makes it a real listener bound to
  the port (``bind``, default 127.0.0.1): the app must connect to it explicitly (iptables does
  not redirect loopback traffic); unknown hosts get 502 there (sailmesh's choice: there is no
  original destination, passing through would loop back to the listener);
  ``DEFAULT``/``IPTABLES`` listeners on a capturing sidecar take redirected traffic
  (``bind_to_port: false``, default address 0.0.0.0);
- explicit-mode proxies (interception NONE, the runtime's ``http_proxy`` fallback) keep their
  one ``http_proxy`` listener with every imported service: they get no per-port listeners.
- the clusters are those of every listener's services together (the scope's services).
"""

from __future__ import annotations

from dataclasses import dataclass

from sailmesh.registry.model import HTTP_PROTOCOLS
from sailmesh.xds import names
from sailmesh.xds.scope import ProxyScope, assign_owners, egress_allows, host_patterns


@dataclass(frozen=True)
class EgressView:
    """One egress listener: its port (None: the catch-all) and what it imports."""

    port: int | None
    protocol: str
    bind: str
    bind_to_port: bool
    scope: ProxyScope

    @property
    def address(self) -> str:
        if self.bind:
            return self.bind
        return names.LOCALHOST if self.bind_to_port else names.WILDCARD_ADDRESS

    @property
    def http(self) -> bool:
        return self.protocol in HTTP_PROTOCOLS

    @property
    def route_name(self) -> str:
        """The RDS name of an HTTP port listener."""
        assert self.port is not None
        if self.address == names.WILDCARD_ADDRESS:
            return names.outbound_route_config(self.port)
        return f"{self.address}:{self.port}"


def egress_views(scope: ProxyScope) -> list[EgressView]:
    """The egress listeners of the proxy's Sidecar when one has a port, else [] (memoized)."""
    cached = scope.memo.get("egress_views")
    if cached is not None:
        return list(cached)
    sidecar = scope.snapshot.sidecar_for(scope.proxy)
    found: list[EgressView] = []
    listeners = sidecar.spec.egress if sidecar is not None else []
    if scope.proxy.interception != "NONE" and any(e.port is not None for e in listeners):
        for listener in listeners:
            port = listener.port
            number = int(port.number) if port is not None and port.number else None
            found.append(
                EgressView(
                    port=number,
                    protocol=((port.protocol if port is not None else "") or "TCP").upper(),
                    bind=listener.bind or "",
                    bind_to_port=listener.capture_mode == "NONE",
                    scope=_restricted(scope, host_patterns(listener.hosts or [])),
                )
            )
    scope.memo["egress_views"] = tuple(found)
    return found


def _restricted(scope: ProxyScope, patterns: list[tuple[str, str]]) -> ProxyScope:
    """``scope`` narrowed to the services and VirtualServices ``patterns`` import."""
    own = scope.proxy.namespace
    services = [s for s in scope.services if egress_allows(patterns, s.namespace, s.hostname, own)]
    vss = [
        vs
        for vs in scope.virtual_services
        if any(egress_allows(patterns, vs.namespace, h, own) for h in scope.snapshot.vs_hosts(vs))
    ]
    view = ProxyScope(
        scope.proxy,
        scope.snapshot,
        services,
        vss,
        scope.outbound_policy,
        egress_proxy_cluster=scope.egress_proxy_cluster,
    )
    view._rules = scope._rules  # the same DestinationRules: share the memo
    assign_owners(view)
    return view
