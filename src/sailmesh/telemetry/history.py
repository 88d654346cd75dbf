"""Rates over a time window from periodic traffic samples, in bounded memory (pure).

In: :class:`~sailmesh.telemetry.traffic.TrafficSample` values with the time they were taken
(whoever samples does the I/O, see :mod:`sailmesh.app.traffic`). Out: per hop, over a window
ending now, :class:`HopRates`: requests and errors per second, the share of mTLS, p50/p99
latency from the duration histogram's bucket increase (linear within a bucket, as Prometheus'
``histogram_quantile``), TCP bytes per second and connections.

Memory: recent samples are kept as taken for :data:`FINE_SECONDS`, older ones every
:data:`COARSE_STEP` seconds for :data:`MAX_WINDOW` seconds; so a mesh of any size keeps at most
``FINE_SECONDS / interval + MAX_WINDOW / COARSE_STEP`` samples. A counter lower than before
restarted (a proxy restarted and nobody carried its counts): its increase is its new value,
as with Prometheus' ``increase``.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

from sailmesh.telemetry.traffic import (
    BOUNDS,
    UNKNOWN_NODE,
    Counters,
    Hop,
    TrafficSample,
    preferred,
)

FINE_SECONDS = 330.0
COARSE_STEP = 30.0
MAX_WINDOW = 3600.0
#: The time windows the dashboard offers, in seconds.
WINDOWS = {"10s": 10.0, "1m": 60.0, "5m": 300.0, "1h": 3600.0}


@dataclass(frozen=True)
class HopRates:
    hop: Hop
    reporter: str
    rps: float
    error_rate: float  # errors / requests, 0..1
    mtls: float | None  # share of requests (TCP: connections) with mutual TLS; None: none
    p50_ms: float | None
    p99_ms: float | None
    tcp_bytes_per_second: float
    tcp_connections: float  # opened in the window

    @property
    def active(self) -> bool:
        return self.rps > 0 or self.tcp_bytes_per_second > 0 or self.tcp_connections > 0


def _increase(now: float, before: float) -> float:
    return now - before if now >= before else now


def quantile(q: float, bucket_increase: list[float]) -> float | None:
    """The ``q`` quantile of a cumulative histogram increase over :data:`BOUNDS` (ms)."""
    total = bucket_increase[-1]
    if total <= 0:
        return None
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in zip(BOUNDS, bucket_increase, strict=True):
        if count >= rank:
            if math.isinf(bound):
                return lower_bound  # beyond the last finite bucket: its bound, as Prometheus
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return lower_bound


def hop_rates(hop: Hop, reporter: str, now: Counters, then: Counters, seconds: float) -> HopRates:
    requests = _increase(now.requests, then.requests)
    errors = min(requests, _increase(now.errors, then.errors))
    buckets = [_increase(a, b) for a, b in zip(now.buckets, then.buckets, strict=True)]
    connections = _increase(now.connections, then.connections)
    if hop.protocol == "tcp":
        mtls_connections = _increase(now.mtls_connections, then.mtls_connections)
        mtls = mtls_connections / connections if connections else None
    else:
        mtls = _increase(now.mtls, then.mtls) / requests if requests else None
    sent = _increase(now.sent, then.sent) + _increase(now.received, then.received)
    return HopRates(
        hop=hop,
        reporter=reporter,
        rps=requests / seconds,
        error_rate=errors / requests if requests else 0.0,
        mtls=mtls,
        p50_ms=quantile(0.5, buckets),
        p99_ms=quantile(0.99, buckets),
        tcp_bytes_per_second=sent / seconds,
        tcp_connections=connections,
    )


_ANY = Hop(UNKNOWN_NODE, UNKNOWN_NODE, "http")


def _destination_mtls(
    hop: Hop, now: TrafficSample, then: TrafficSample, seconds: float
) -> float | None:
    """The mTLS share of ``hop`` as its destination saw it: a source reporter labels every
    request's ``connection_security_policy`` ``unknown`` (Istio's rule), so the caller's
    hop takes its security from the server's side."""
    key = ("destination", hop)
    return hop_rates(hop, "destination", now[key], then.get(key) or Counters(), seconds).mtls


class TrafficHistory:
    """Thread-safe: one sampler adds, any number of readers ask for rates."""

    def __init__(self) -> None:
        self._fine: deque[tuple[float, TrafficSample]] = deque()
        self._coarse: deque[tuple[float, TrafficSample]] = deque()
        self._lock = threading.Lock()

    def add(self, at: float, sample: TrafficSample) -> None:
        with self._lock:
            self._fine.append((at, sample))
            while self._fine and self._fine[0][0] < at - FINE_SECONDS:
                self._fine.popleft()
            if not self._coarse or at - self._coarse[-1][0] >= COARSE_STEP:
                self._coarse.append((at, sample))
            while self._coarse and self._coarse[0][0] < at - MAX_WINDOW - COARSE_STEP:
                self._coarse.popleft()

    def __len__(self) -> int:
        with self._lock:
            return len(self._fine) + len(self._coarse)

    def latest_time(self) -> float | None:
        with self._lock:
            return self._fine[-1][0] if self._fine else None

    def _ends(
        self, window: float
    ) -> tuple[tuple[float, TrafficSample], tuple[float, TrafficSample]] | None:
        """The newest sample and the oldest one no older than ``window`` before it (the
        oldest kept if the history is shorter)."""
        with self._lock:
            if not self._fine:
                return None
            latest = self._fine[-1]
            start = latest[0] - window
            covered = window <= FINE_SECONDS or self._fine[0][0] <= start
            pool = [
                item for item in (self._fine if covered else self._coarse) if item[0] < latest[0]
            ]
            if not pool:
                return None
            base = next((item for item in pool if item[0] >= start - 1e-6), pool[-1])
            return base, latest

    def rates(self, window: float) -> tuple[list[HopRates], float]:
        """Each hop's rates over ``window`` seconds ending at the newest sample, and the
        seconds actually covered (shorter while the history is younger than the window)."""
        ends = self._ends(window)
        if ends is None:
            return [], 0.0
        (t0, then), (t1, now) = ends
        seconds = t1 - t0
        if seconds <= 0:
            return [], 0.0
        reporters: dict[Hop, set[str]] = {}
        for reporter, hop in now:
            reporters.setdefault(hop, set()).add(reporter)
        out = []
        for hop, seen in reporters.items():
            reporter = preferred(hop, seen)
            before = then.get((reporter, hop)) or Counters()
            rates = hop_rates(hop, reporter, now[(reporter, hop)], before, seconds)
            if reporter == "source" and ("destination", hop) in now:
                rates = replace(rates, mtls=_destination_mtls(hop, now, then, seconds))
            out.append(rates)
        return sorted(out, key=lambda r: r.hop), seconds

    def samples(self, window: float) -> list[tuple[float, TrafficSample]]:
        """The samples of the last ``window`` seconds, oldest first (coarse ones beyond the
        fine span)."""
        with self._lock:
            if not self._fine:
                return []
            start = self._fine[-1][0] - window
            older = [item for item in self._coarse if start <= item[0] < self._fine[0][0]]
            return older + [item for item in self._fine if item[0] >= start]


@dataclass(frozen=True)
class Point:
    """Rates between two consecutive samples, at the later one's time."""

    at: float
    rps: float
    error_rate: float
    p50_ms: float | None
    p99_ms: float | None
    tcp_bytes_per_second: float


def series(
    samples: list[tuple[float, TrafficSample]], select: Callable[[Hop], bool], step: float = 0.0
) -> list[Point]:
    """Rates of the hops ``select`` picks (summed), between samples at least ``step`` seconds
    apart (consecutive ones with 0): Envoy merges histograms every 5 s, so latency needs
    steps of about that."""
    points = []
    base = 0
    for i in range(1, len(samples)):
        (t0, then), (t1, now) = samples[base], samples[i]
        if t1 - t0 < step or t1 <= t0:
            continue
        base = i
        total, before = Counters(), Counters()
        reporters: dict[Hop, set[str]] = {}
        for reporter, hop in now:
            if select(hop):
                reporters.setdefault(hop, set()).add(reporter)
        for hop, seen in reporters.items():
            reporter = preferred(hop, seen)
            total.add(now[(reporter, hop)])
            before.add(then.get((reporter, hop)) or Counters())
        r = hop_rates(_ANY, "", total, before, t1 - t0)
        points.append(Point(t1, r.rps, r.error_rate, r.p50_ms, r.p99_ms, r.tcp_bytes_per_second))
    return points
