"""TCP bytes reported periodically (Telemetry ``metrics[*].reportingInterval``; pure, stateful).

Envoy's TCP proxy can log while a connection is open (``access_log_flush_interval``, log type
``TcpPeriodic``), but every byte operator it has is cumulative: a stats logger adding
``%DOWNSTREAM_WIRE_BYTES_SENT%`` on each periodic log would count the first bytes again at
every period (measured on Envoy 1.40), and no operator gives the bytes since the last log.
So when a proxy's policy has a reporting interval, its TCP proxies send their periodic and
end-of-connection logs over gRPC access logging (``tcp_grpc``) to the control plane, and
:class:`TcpByteLedger` turns the cumulative figures into deltas per connection: each report
adds what the connection moved since its previous one to the raw series of the connection's
raw tags (the same tags the stats loggers use, :mod:`~sailmesh.telemetry.raw`); the end
report forgets the connection. Those proxies' stats loggers stop counting TCP bytes at the end
(:attr:`raw.Emission.periodic_bytes`), so each byte is counted once, by the ledger.

In: :class:`TcpReport` values (decoded from Envoy's entries by the control plane). Out: per
proxy, raw ``envoy_sailmesh_tcp_{sent,received}_bytes_total`` families to merge with its
Envoy's own before naming (:meth:`TcpByteLedger.families`). Bounded: at most
:data:`MAX_CONNECTIONS` open connections tracked per proxy (beyond, the oldest is forgotten
and its next report counts from zero).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from sailmesh.telemetry import raw, standard
from sailmesh.telemetry.exposition import Family, Labels, Sample

MAX_CONNECTIONS = 10_000
#: The ``log_name`` of the periodic loggers: ``<prefix>|<reporter>|<service>``.
LOG_NAME_PREFIX = "sailmesh-tcp"


def log_name(reporter: str, service: str | None) -> str:
    return f"{LOG_NAME_PREFIX}|{reporter}|{service or ''}"


def parse_log_name(name: str) -> tuple[str, str] | None:
    """``(reporter, service)`` of a periodic logger's ``log_name`` (None: not one)."""
    parts = name.split("|")
    if len(parts) != 3 or parts[0] != LOG_NAME_PREFIX or parts[1] not in ("source", "destination"):
        return None
    return parts[1], parts[2]


@dataclass(frozen=True)
class TcpReport:
    """One periodic or end-of-connection report of one TCP connection of one proxy."""

    node_id: str
    connection: str  # unique per connection of the proxy
    tags: Labels  # raw tags, as the stats loggers would set them
    sent: int  # cumulative bytes sent to the downstream
    received: int  # cumulative bytes received from the downstream
    ended: bool


@dataclass
class _Proxy:
    open: OrderedDict[str, tuple[int, int]] = field(default_factory=OrderedDict)
    totals: dict[Labels, list[int]] = field(default_factory=dict)


class TcpByteLedger:
    """Per proxy, the TCP bytes its periodic loggers reported, as monotonic raw counters."""

    def __init__(self) -> None:
        self._proxies: dict[str, _Proxy] = {}
        self._lock = threading.Lock()

    def record(self, report: TcpReport) -> None:
        with self._lock:
            proxy = self._proxies.setdefault(report.node_id, _Proxy())
            sent0, received0 = proxy.open.pop(report.connection, (0, 0))
            total = proxy.totals.setdefault(report.tags, [0, 0])
            total[0] += max(report.sent - sent0, 0)
            total[1] += max(report.received - received0, 0)
            if not report.ended:
                proxy.open[report.connection] = (report.sent, report.received)
                while len(proxy.open) > MAX_CONNECTIONS:
                    proxy.open.popitem(last=False)

    def forget(self, node_id: str) -> None:
        with self._lock:
            self._proxies.pop(node_id, None)

    def families(self, node_id: str) -> list[Family]:
        """The proxy's raw TCP byte counters (none when it reports no TCP bytes this way)."""
        with self._lock:
            proxy = self._proxies.get(node_id)
            totals = [(tags, list(t)) for tags, t in proxy.totals.items()] if proxy else []
        if not totals:
            return []
        out = []
        for index, metric in enumerate((standard.TCP_SENT, standard.TCP_RECEIVED)):
            name = raw.ENVOY_PROMETHEUS_PREFIX + metric.name
            family = Family(name, "counter", metric.help)
            family.samples = [Sample(name, tags, float(t[index])) for tags, t in totals]
            out.append(family)
        return out
