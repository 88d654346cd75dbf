"""LISTENER, LISTENER_FILTER, FILTER_CHAIN, NETWORK_FILTER and HTTP_FILTER patches (Istio's
listener_patch semantics), plus route patches on the route configurations inlined in inbound
HTTP connection managers.

In: the proxy's listeners (``{name: Listener}``, patched in place on copies the caller made),
a function giving each listener's context, and the compiled patches. Out: the listeners left
(REMOVE drops, ADD appends).

Operations: LISTENER takes MERGE, REMOVE and ADD (ADD only in the SIDECAR_OUTBOUND or GATEWAY
context, also when the patch says ANY); FILTER_CHAIN takes MERGE (a ``transport_socket`` of the
same name is merged typed-config into typed-config), REMOVE and ADD (appended to each matching
listener); NETWORK_FILTER, HTTP_FILTER and LISTENER_FILTER take the ordered-list operations of
:mod:`.lists`, and NETWORK_FILTER/HTTP_FILTER MERGE too (the value's ``typed_config`` merged
into the filter's, Istio's ``MergeAnyWithAny``; a filter without typed config is left alone).

Matches: ``listener.name``; ``listener.portNumber`` (the bound port, or the server port of a
gateway listener whose port the local runtime substituted; on ``virtualInbound`` and
``virtualOutbound`` it selects filter chains by their ``destination_port`` instead, except for
applyTo LISTENER); ``listener.listenerFilter``; ``filterChain``: ``name``, ``sni``,
``transportProtocol``, ``applicationProtocols`` (comma-separated, all needed),
``destinationPort``, ``filter.name`` and ``filter.subFilter.name``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from envoy.config.listener.v3 import listener_components_pb2 as lc_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)

from sailmesh.xds import names
from sailmesh.xds.envoyfilter.lists import LIST_OPERATIONS, apply_list_operation, set_repeated
from sailmesh.xds.envoyfilter.merge import merge, merge_any
from sailmesh.xds.envoyfilter.patches import Patch, Patches, clone, context_matches
from sailmesh.xds.envoyfilter.routes import patch_route_configuration

HCM = "envoy.filters.network.http_connection_manager"
_VIRTUAL = frozenset({names.VIRTUAL_INBOUND_LISTENER, names.VIRTUAL_OUTBOUND_LISTENER})
_ADD_CONTEXTS = frozenset({"SIDECAR_OUTBOUND", "GATEWAY"})


class ListenerPatcher:
    """Applies the listener-class patches to one proxy's listeners."""

    def __init__(
        self,
        patches: Patches,
        context_of: Callable[[listener_pb2.Listener], str],
        main_context: str,
        port_aliases: dict[int, int],
    ) -> None:
        self.patches = patches
        self.context_of = context_of
        self.main_context = main_context  # SIDECAR_OUTBOUND or GATEWAY: where ADDs go
        self.aliases = port_aliases

    def apply(
        self, listeners: dict[str, listener_pb2.Listener]
    ) -> dict[str, listener_pb2.Listener]:
        out: dict[str, listener_pb2.Listener] = {}
        for name, listener in listeners.items():
            if self._patch_listener(listener, self.context_of(listener)):
                out[name] = listener
        for patch in self.patches.of("LISTENER"):
            if patch.operation != "ADD" or patch.value is None:
                continue
            if patch.context == "ANY" and self.main_context not in _ADD_CONTEXTS:
                continue
            if context_matches(patch, self.main_context):
                added: listener_pb2.Listener = clone(patch.value)
                out[added.name] = added
        return out

    # --- one listener --------------------------------------------------------------------
    def _patch_listener(self, listener: listener_pb2.Listener, context: str) -> bool:
        """Patch ``listener`` in place; False when a patch removed it."""
        for patch in self._matching("LISTENER", listener, context):
            if patch.operation == "REMOVE":
                return False
            if patch.operation == "MERGE" and patch.value is not None:
                merge(listener, patch.value, patch.replace_lists)
        self._patch_listener_filters(listener, context)
        self._patch_filter_chains(listener, context)
        return True

    def _matching(
        self, apply_to: str, listener: listener_pb2.Listener, context: str
    ) -> list[Patch]:
        return [
            p
            for p in self.patches.of(apply_to)
            if context_matches(p, context) and self._listener_matches(p, listener)
        ]

    def _listener_matches(self, patch: Patch, listener: listener_pb2.Listener) -> bool:
        match = _listener_match(patch)
        if match is None:
            return True
        if match.name and match.name != listener.name:
            return False
        if patch.apply_to != "LISTENER" and listener.name in _VIRTUAL:
            return True
        if match.port_number:
            return match.port_number in self._ports(listener)
        return True

    def _ports(self, listener: listener_pb2.Listener) -> set[int]:
        bound = listener.address.socket_address.port_value
        ports = {bound}
        ports.update(server for server, local in self.aliases.items() if local == bound)
        return ports

    def _patch_listener_filters(self, listener: listener_pb2.Listener, context: str) -> None:
        for patch in self._matching("LISTENER_FILTER", listener, context):
            if patch.operation not in LIST_OPERATIONS:
                continue
            match = _listener_match(patch)
            wanted = match.listener_filter if match is not None else None
            items = apply_list_operation(
                list(listener.listener_filters), patch, partial(_named, wanted), bool(wanted)
            )
            set_repeated(listener.listener_filters, items)

    def _patch_filter_chains(self, listener: listener_pb2.Listener, context: str) -> None:
        chains = [fc for fc in listener.filter_chains if self._patch_chain(listener, fc, context)]
        default = listener.default_filter_chain
        if (
            listener.HasField("default_filter_chain")
            and default.filters
            and not self._patch_chain(listener, default, context)
        ):
            listener.ClearField("default_filter_chain")
        for patch in self._matching("FILTER_CHAIN", listener, context):
            if patch.operation == "ADD" and patch.value is not None:
                chains.append(clone(patch.value))
        set_repeated(listener.filter_chains, chains)

    # --- one filter chain ----------------------------------------------------------------
    def _chain_patches(
        self, apply_to: str, listener: listener_pb2.Listener, fc: lc_pb2.FilterChain, context: str
    ) -> list[Patch]:
        return [
            p
            for p in self._matching(apply_to, listener, context)
            if _chain_matches(p, listener, fc)
        ]

    def _patch_chain(
        self, listener: listener_pb2.Listener, fc: lc_pb2.FilterChain, context: str
    ) -> bool:
        for patch in self._chain_patches("FILTER_CHAIN", listener, fc, context):
            if patch.operation == "REMOVE":
                return False
            if patch.operation == "MERGE" and patch.value is not None:
                _merge_chain(fc, patch.value, patch.replace_lists)
        network = self._chain_patches("NETWORK_FILTER", listener, fc, context)
        filters = list(fc.filters)
        for patch in network:
            if patch.operation in LIST_OPERATIONS:
                wanted = _filter_match(patch)
                name = wanted.name if wanted is not None else None
                filters = apply_list_operation(
                    filters, patch, partial(_named, name), wanted is not None
                )
        for flt in filters:
            for patch in network:
                if patch.operation == "MERGE" and _network_filter_matches(patch, flt):
                    _merge_filter(flt, patch.value)
            if flt.name == HCM:
                self._patch_hcm(listener, fc, flt, context)
        set_repeated(fc.filters, filters)
        return True

    def _patch_hcm(
        self,
        listener: listener_pb2.Listener,
        fc: lc_pb2.FilterChain,
        flt: lc_pb2.Filter,
        context: str,
    ) -> None:
        if not flt.HasField("typed_config"):
            return
        hcm = hcm_pb2.HttpConnectionManager()
        if not flt.typed_config.Unpack(hcm):
            return
        http = [
            p
            for p in self._chain_patches("HTTP_FILTER", listener, fc, context)
            if _network_filter_matches(p, flt)
        ]
        changed = False
        if http:
            items = list(hcm.http_filters)
            for patch in http:
                if patch.operation in LIST_OPERATIONS:
                    wanted = _sub_filter_match(patch)
                    name = wanted.name if wanted is not None else None
                    items = apply_list_operation(
                        items, patch, partial(_named, name), wanted is not None
                    )
            for item in items:
                for patch in http:
                    if patch.operation == "MERGE" and _http_filter_matches(patch, item):
                        _merge_filter(item, patch.value)
            set_repeated(hcm.http_filters, items)
            changed = True
        if hcm.HasField("route_config") and self._has_route_patches():
            patch_route_configuration(hcm.route_config, context, self.patches, self.aliases)
            changed = True
        if changed:
            flt.typed_config.Pack(hcm)

    def _has_route_patches(self) -> bool:
        return any(
            self.patches.of(t) for t in ("ROUTE_CONFIGURATION", "VIRTUAL_HOST", "HTTP_ROUTE")
        )


def _named(name: str | None, item: Any) -> bool:
    return name is not None and bool(item.name == name)


def _listener_match(patch: Patch) -> Any:
    return patch.match.listener if patch.match is not None else None


def _filter_match(patch: Patch) -> Any:
    match = _listener_match(patch)
    chain = match.filter_chain if match is not None else None
    return chain.filter if chain is not None else None


def _sub_filter_match(patch: Patch) -> Any:
    flt = _filter_match(patch)
    return flt.sub_filter if flt is not None else None


def _network_filter_matches(patch: Patch, flt: lc_pb2.Filter) -> bool:
    wanted = _filter_match(patch)
    return wanted is None or wanted.name == flt.name


def _http_filter_matches(patch: Patch, flt: hcm_pb2.HttpFilter) -> bool:
    wanted = _sub_filter_match(patch)
    return wanted is None or wanted.name == flt.name


def _chain_matches(patch: Patch, listener: listener_pb2.Listener, fc: lc_pb2.FilterChain) -> bool:
    match = _listener_match(patch)
    if match is None:
        return True
    fcm = fc.filter_chain_match
    has_fcm = fc.HasField("filter_chain_match")
    on_virtual_port = listener.name in _VIRTUAL and match.port_number
    if on_virtual_port and fcm.destination_port.value != match.port_number:
        return False
    want = match.filter_chain
    if want is None:
        return True
    checks = (
        not want.name or want.name == fc.name,
        not want.sni or (has_fcm and want.sni in fcm.server_names),
        not want.transport_protocol
        or (has_fcm and fcm.transport_protocol == want.transport_protocol),
        not want.application_protocols
        or (
            has_fcm
            and all(p in fcm.application_protocols for p in want.application_protocols.split(","))
        ),
        not want.destination_port
        or (
            has_fcm
            and fcm.HasField("destination_port")
            and fcm.destination_port.value == want.destination_port
        ),
    )
    return all(checks)


def _merge_chain(fc: lc_pb2.FilterChain, value: lc_pb2.FilterChain, replace_lists: bool) -> None:
    """Istio merges a same-named transport socket's typed config; the rest is a plain merge."""
    if (
        value.HasField("transport_socket")
        and fc.HasField("transport_socket")
        and value.transport_socket.name == fc.transport_socket.name
    ):
        merge_any(fc.transport_socket.typed_config, value.transport_socket.typed_config)
        return
    merge(fc, value, replace_lists)


def _merge_filter(flt: Any, value: Any) -> None:
    """MERGE into a network or HTTP filter: rename, then merge the typed configs."""
    if value is None or not flt.HasField("typed_config"):
        return
    if value.name:
        flt.name = value.name
    if value.HasField("typed_config"):
        merge_any(flt.typed_config, value.typed_config)
