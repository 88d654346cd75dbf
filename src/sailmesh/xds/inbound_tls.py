"""Which filter chains an inbound port gets for its PeerAuthentication mode (Istio's
``FilterChainMatchOptions`` tables), and the TLS inspector that tells them apart.

In: a port's mutual TLS mode (:mod:`sailmesh.xds.peer_authn`; None when the proxy has no
identity over SDS) and how the port is proxied (HTTP, TCP or sniffed). Out: one
:class:`ChainMatch` per filter chain (what it matches, whether it terminates Istio mutual TLS
and with which ALPN), and the ``tls_inspector`` listener filter for ``virtualInbound``.

- STRICT: only TLS chains that terminate mutual TLS (a client certificate is required). A
  plaintext connection matches no chain of the port and Envoy closes it.
- PERMISSIVE: mutual TLS for connections offering Istio's ALPN, plaintext for the rest; on TCP
  (and sniffed) ports TLS without Istio's ALPN (the app's own TLS) passes through untouched.
- DISABLE, and every mode when the proxy has no identity: today's plaintext chains (no
  transport match), with the TLS inspector disabled on the port so the app's own TLS passes.

The TLS inspector waits for the client's first bytes (no timeout, Istio's default
``protocolDetectionTimeout``): server-first protocols, and clients whose first write is shorter
than a TLS record header, stall on STRICT and PERMISSIVE ports (as with Istio); DISABLE ports
are not inspected.

Sniffed (``AUTO``) ports: over mutual TLS the HTTP inspector cannot see the protocol; Istio's
clients say it in ALPN (``istio-http/1.1``...), which upstream Envoy clients do not send, so
mutual TLS to a sniffed port is proxied as TCP (per-request features such as
``x-forwarded-client-cert`` need a declared HTTP port).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from envoy.config.listener.v3 import listener_components_pb2 as lc_pb2
from envoy.type.v3 import range_pb2

from sailmesh.xds import filters, names
from sailmesh.xds.peer_authn import MtlsMode
from sailmesh.xds.tls import ALPN_ISTIO_MTLS, RAW_BUFFER_TRANSPORT, TLS_TRANSPORT

ChainProtocol = Literal["http", "tcp"]
PortKind = Literal["http", "tcp", "auto"]

#: ALPN Istio's client sidecars set on mutual TLS carrying HTTP (not sent by sailmesh's).
_MTLS_HTTP_ALPN = ("istio-http/1.0", "istio-http/1.1", "istio-h2")
_MTLS_TCP_ALPN = ("istio-peer-exchange", "istio")


@dataclass(frozen=True)
class ChainMatch:
    """One filter chain of a port: its protocol, the transport and ALPN it matches, and
    whether it terminates Istio mutual TLS (``mtls``)."""

    protocol: ChainProtocol
    transport: str = ""
    alpn: tuple[str, ...] = ()
    mtls: bool = False

    @property
    def security(self) -> str:
        """The chain name suffix: ``mtls``, ``tls`` (passed through) or none."""
        if self.mtls:
            return names.MTLS_CHAIN_SUFFIX
        return names.TLS_CHAIN_SUFFIX if self.transport == TLS_TRANSPORT else ""

    @property
    def inspects_tls(self) -> bool:
        return bool(self.transport)


_TLS, _RAW = TLS_TRANSPORT, RAW_BUFFER_TRANSPORT
_PLAIN: dict[PortKind, tuple[ChainMatch, ...]] = {
    "http": (ChainMatch("http"),),
    "tcp": (ChainMatch("tcp"),),
    "auto": (ChainMatch("http", alpn=filters.SNIFFED_HTTP_PROTOCOLS), ChainMatch("tcp")),
}
_STRICT: dict[PortKind, tuple[ChainMatch, ...]] = {
    "http": (ChainMatch("http", _TLS, mtls=True),),
    "tcp": (ChainMatch("tcp", _TLS, mtls=True),),
    "auto": (
        ChainMatch("http", _TLS, _MTLS_HTTP_ALPN, mtls=True),
        ChainMatch("tcp", _TLS, mtls=True),
    ),
}
_PERMISSIVE: dict[PortKind, tuple[ChainMatch, ...]] = {
    "http": (ChainMatch("http", _TLS, ALPN_ISTIO_MTLS, mtls=True), ChainMatch("http", _RAW)),
    "tcp": (
        ChainMatch("tcp", _TLS, ALPN_ISTIO_MTLS, mtls=True),
        ChainMatch("tcp", _TLS),
        ChainMatch("tcp", _RAW),
    ),
    "auto": (
        ChainMatch("http", _TLS, _MTLS_HTTP_ALPN, mtls=True),
        ChainMatch("http", _RAW, filters.SNIFFED_HTTP_PROTOCOLS),
        ChainMatch("tcp", _TLS, _MTLS_TCP_ALPN, mtls=True),
        ChainMatch("tcp", _RAW),
        ChainMatch("tcp", _TLS),
    ),
}


def chain_matches(mode: MtlsMode | None, kind: PortKind) -> tuple[ChainMatch, ...]:
    """The filter chains of a port of ``kind`` in ``mode`` (None: no identity, plaintext)."""
    if mode == "STRICT":
        return _STRICT[kind]
    if mode == "PERMISSIVE":
        return _PERMISSIVE[kind]
    return _PLAIN[kind]


_OWN_TLS: dict[PortKind, tuple[ChainMatch, ...]] = {
    "http": (ChainMatch("http", _TLS),),
    "tcp": (ChainMatch("tcp", _TLS),),
    "auto": (ChainMatch("http", _TLS, ("h2", "http/1.1")), ChainMatch("tcp", _TLS)),
}


def own_tls_matches(kind: PortKind) -> tuple[ChainMatch, ...]:
    """The chains of a Sidecar ingress port terminating its own (non-Istio) TLS: TLS only,
    told apart by ALPN on sniffed ports (Istio's ``getTLSFilterChainMatchOptions``)."""
    return _OWN_TLS[kind]


def passthrough_matches(mode: MtlsMode | None) -> tuple[ChainMatch, ...]:
    """The chains of undeclared ports (TCP to the original destination), in ``mode``."""
    return chain_matches(mode, "tcp")


def apply_match(chain: lc_pb2.FilterChain, port: int | None, match: ChainMatch) -> None:
    """Set ``chain``'s filter chain match: destination port, transport protocol, ALPN."""
    fcm = chain.filter_chain_match
    if port is not None:
        fcm.destination_port.value = port
    if match.transport:
        fcm.transport_protocol = match.transport
    fcm.application_protocols.extend(match.alpn)


def _port_predicate(ports: Sequence[int]) -> lc_pb2.ListenerFilterChainMatchPredicate:
    """Matches connections to any of ``ports``."""
    Predicate = lc_pb2.ListenerFilterChainMatchPredicate
    rules = [
        Predicate(destination_port_range=range_pb2.Int32Range(start=p, end=p + 1))
        for p in sorted(set(ports))
    ]
    if len(rules) == 1:
        return rules[0]
    return Predicate(or_match=Predicate.MatchSet(rules=rules))


def tls_inspector(
    inspecting: Sequence[int], plain: Sequence[int], passthrough_inspects: bool
) -> lc_pb2.ListenerFilter | None:
    """The TLS inspector of ``virtualInbound`` (None when no chain matches on TLS): on for the
    ``inspecting`` ports (and undeclared ones if ``passthrough_inspects``), off for the
    ``plain`` ports, so that an app's own TLS reaches a plaintext chain unrecognised."""
    found = filters.tls_inspector()
    Predicate = lc_pb2.ListenerFilterChainMatchPredicate
    if passthrough_inspects:
        if plain:
            found.filter_disabled.CopyFrom(_port_predicate(plain))
        return found
    if not inspecting:
        return None
    found.filter_disabled.CopyFrom(Predicate(not_match=_port_predicate(inspecting)))
    return found
