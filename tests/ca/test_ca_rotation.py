"""Renewal times (50-80 % of the lifetime), root rotation with overlap, expiry warnings."""

from __future__ import annotations

import pytest

from sailmesh.ca.authority import Authority, self_signed_root
from sailmesh.ca.certs import Validity
from sailmesh.ca.csr import make_csr
from sailmesh.ca.identity import SpiffeId
from sailmesh.ca.keys import generate_key
from sailmesh.ca.material import CaMaterial
from sailmesh.ca.rotation import renewal_delay, renewal_time
from sailmesh.clock import ManualClock

ME = SpiffeId("cluster.local", "default", "reviews")
DAY = 24 * 3600.0


@pytest.mark.parametrize(
    ("random", "fraction"), [(0.0, 0.5), (0.5, 0.65), (0.999999, 0.8), (7.0, 0.8), (-1.0, 0.5)]
)
def test_renewal_between_half_and_eighty_percent(random: float, fraction: float) -> None:
    validity = Validity(1000.0, 1000.0 + DAY)
    assert renewal_time(validity, lambda: random) == pytest.approx(1000.0 + fraction * DAY)


def test_renewal_delay_from_a_manual_clock(clock: ManualClock) -> None:
    validity = Validity(clock.wall(), clock.wall() + 100)
    assert renewal_delay(validity, clock.wall(), lambda: 0.0) == pytest.approx(50)
    clock.advance(90)
    assert renewal_delay(validity, clock.wall(), lambda: 0.0) == 0.0


def _roots(authority: Authority) -> list[bytes]:
    return [r.fingerprint(r.signature_hash_algorithm) for r in authority.trust_roots()]  # type: ignore[arg-type]


def _fp(material: CaMaterial) -> bytes:
    root = material.roots[0]
    return root.fingerprint(root.signature_hash_algorithm)  # type: ignore[arg-type]


def test_root_rotation_with_overlap(root: CaMaterial, clock: ManualClock) -> None:
    authority = Authority(root, clock)
    new = self_signed_root("cluster.local", clock.wall(), common_name="Root CA 2")
    authority.trust_root(new)
    assert _roots(authority) == [_fp(root), _fp(new)]
    before = authority.sign(make_csr(generate_key(), ME), ME)
    assert before.leaf.issuer == root.signing_cert.subject

    authority.switch_to(new, overlap=2 * DAY)
    after = authority.sign(make_csr(generate_key(), ME), ME)
    assert after.leaf.issuer == new.signing_cert.subject
    assert _roots(authority) == [_fp(new), _fp(root)]  # old leaves still verify
    assert after.roots_pem == authority.trust_bundle()

    clock.advance(2 * DAY + 1)
    assert _roots(authority) == [_fp(new)]


def test_expiry_warnings(clock: ManualClock) -> None:
    root = self_signed_root("cluster.local", clock.wall(), ttl=10 * DAY)
    authority = Authority(root, clock)
    assert authority.expiring(threshold=5 * DAY) == []
    clock.advance(6 * DAY)
    [warning] = authority.expiring(threshold=5 * DAY)
    assert warning.label == "root" and warning.remaining == pytest.approx(4 * DAY, abs=61)


def test_nearing_expiry_is_a_fraction_of_the_lifetime() -> None:
    from sailmesh.ca.rotation import CA_WARN_FRACTION, WORKLOAD_WARN_FRACTION, nearing_expiry

    now = 10_000.0
    validities = {
        "root": Validity(0.0, now + 3 * DAY),  # most of its lifetime left
        "young": Validity(now - 10, now + DAY),
        "workload": Validity(now - 0.9 * DAY, now + 0.1 * DAY),
        "expired": Validity(now - 20, now - 5),
    }
    assert [e.label for e in nearing_expiry(validities, now, CA_WARN_FRACTION)] == [
        "expired",
        "workload",
    ]
    found = nearing_expiry({"w": validities["workload"]}, now, WORKLOAD_WARN_FRACTION)
    assert [e.remaining for e in found] == [pytest.approx(0.1 * DAY)]
    healthy = Validity(now - 0.7 * DAY, now + 0.3 * DAY)  # renewal (by 80 %) not due yet
    assert nearing_expiry({"w": healthy}, now, WORKLOAD_WARN_FRACTION) == []
