"""When to renew a certificate, and which certificates expire soon (no I/O; time is passed in).

Workload certificates are renewed at a random point between 50 % and 80 % of their lifetime
(:data:`RENEW_FROM`, :data:`RENEW_UNTIL`): early enough that a failed attempt can be retried
well before expiry, spread so that many workloads issued together do not all renew together.
The random source is injected (``random.random`` in production, a constant in tests).

When a certificate "nears expiry" (warnings of ``sailctl status``) is a fraction of its lifetime
left: for a CA certificate (root, intermediate) less than a third (:data:`CA_WARN_FRACTION`: a
10-year root warns in its last 3.3 years, a 1-year intermediate in its last 4 months: time to
plan a rotation); for a workload certificate less than 15 % (:data:`WORKLOAD_WARN_FRACTION`),
which a healthy agent never reaches because it renews by 80 %: the warning means renewal is
overdue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sailmesh.ca.certs import Validity

RENEW_FROM = 0.5
RENEW_UNTIL = 0.8
CA_WARN_FRACTION = 1 / 3
WORKLOAD_WARN_FRACTION = 0.15

Random = Callable[[], float]
"""Returns a float in [0, 1)."""


def renewal_time(validity: Validity, random: Random) -> float:
    """The wall time at which to renew a certificate of ``validity``."""
    fraction = RENEW_FROM + (RENEW_UNTIL - RENEW_FROM) * min(max(random(), 0.0), 1.0)
    return validity.not_before + validity.lifetime * fraction


def renewal_delay(validity: Validity, now: float, random: Random) -> float:
    """Seconds from ``now`` until the renewal (0 when it is already due)."""
    return max(0.0, renewal_time(validity, random) - now)


@dataclass(frozen=True, order=True)
class Expiry:
    """A certificate ending within the warning threshold (``remaining`` <= 0: expired)."""

    remaining: float
    label: str
    not_after: float


def expiring(validities: Mapping[str, Validity], now: float, threshold: float) -> list[Expiry]:
    """The labelled certificates whose end is within ``threshold`` s of ``now``, soonest first."""
    found = [
        Expiry(v.not_after - now, label, v.not_after)
        for label, v in validities.items()
        if v.not_after - now <= threshold
    ]
    return sorted(found)


def nearing_expiry(validities: Mapping[str, Validity], now: float, fraction: float) -> list[Expiry]:
    """The labelled certificates with less than ``fraction`` of their lifetime left at ``now``
    (expired ones included), soonest first."""
    found = [
        Expiry(v.not_after - now, label, v.not_after)
        for label, v in validities.items()
        if v.not_after - now < fraction * v.lifetime
    ]
    return sorted(found)
