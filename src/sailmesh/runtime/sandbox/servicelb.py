"""Service virtual IPs for pods without a sidecar: the role kube-proxy plays in Kubernetes.

A pod with a sidecar reaches a Service through Envoy (its outbound traffic is captured); a pod
without one (namespace ``istio-injection: disabled``, annotation ``sidecar.istio.io/inject:
"false"``) gets no capture rules, so its connections to a Service's VIP need the address
translated to an endpoint, as in every Kubernetes pod. In: the Services' VIPs, ports and ready
endpoints (:class:`ServiceBackend`). Out: an ``iptables-restore`` script for the pod's own
namespace: in ``nat``, DNAT of ``VIP:port`` to one endpoint chosen at random with equal weight
(``-m statistic --mode random``, as kube-proxy's iptables mode); in ``filter``, a TCP reset for
a ``VIP:port`` with no ready endpoint, so callers fail at once instead of timing out.

The rules live only in the sidecar-less pod's namespace (never on the host); they are
re-applied whenever the set of backends changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CHAIN = "SAILMESH_SERVICES"


@dataclass(frozen=True, order=True)
class ServiceBackend:
    """One Service port on its VIP and the ready endpoints (``ip``, ``port``) behind it."""

    vip: str
    port: int
    endpoints: tuple[tuple[str, int], ...] = ()
    name: str = ""  # ``namespace/name:port`` for the rule comments


def _comment(backend: ServiceBackend) -> str:
    return f'-m comment --comment "{backend.name}"' if backend.name else ""


def _dnat_rules(backend: ServiceBackend) -> list[str]:
    """One rule per endpoint; rule ``i`` of ``n`` takes 1/(n-i) of what reaches it, so each
    endpoint gets 1/n of the connections."""
    match = f"-A {CHAIN} -d {backend.vip}/32 -p tcp --dport {backend.port}"
    comment = _comment(backend)
    rules = []
    count = len(backend.endpoints)
    for i, (ip, port) in enumerate(backend.endpoints):
        left = count - i
        pick = f"-m statistic --mode random --probability {1 / left:.10f} " if left > 1 else ""
        rules.append(f"{match} {comment} {pick}-j DNAT --to-destination {ip}:{port}")
    return [" ".join(rule.split()) for rule in rules]


def _reject_rules(backends: Iterable[ServiceBackend]) -> list[str]:
    return [
        " ".join(
            f"-A {CHAIN} -d {b.vip}/32 -p tcp --dport {b.port} {_comment(b)} "
            "-j REJECT --reject-with tcp-reset".split()
        )
        for b in backends
        if not b.endpoints
    ]


def render_service_rules(backends: Sequence[ServiceBackend]) -> str:
    """The ``iptables-restore`` script (pure) for a pod without a sidecar; it replaces the
    ``nat`` and ``filter`` tables of the namespace it is applied in."""
    ordered = sorted(backends)
    lines = [
        "# sailmesh service VIPs for a pod without a sidecar (kube-proxy's role)",
        "*nat",
        ":PREROUTING ACCEPT [0:0]",
        ":INPUT ACCEPT [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        ":POSTROUTING ACCEPT [0:0]",
        f":{CHAIN} - [0:0]",
        f"-A OUTPUT -p tcp -j {CHAIN}",
        *[rule for backend in ordered for rule in _dnat_rules(backend)],
        "COMMIT",
        "*filter",
        ":INPUT ACCEPT [0:0]",
        ":FORWARD ACCEPT [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        f":{CHAIN} - [0:0]",
        f"-A OUTPUT -p tcp -j {CHAIN}",
        *_reject_rules(ordered),
        "COMMIT",
    ]
    return "\n".join(lines) + "\n"
