"""The CA's signing rules, as a table of CSRs it refuses, and what it issues when it signs."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID

from sailmesh.ca.authority import Authority, issue_intermediate, self_signed_root
from sailmesh.ca.certs import BACKDATE, Validity
from sailmesh.ca.csr import make_csr
from sailmesh.ca.identity import SpiffeId, TrustDomains
from sailmesh.ca.keys import KeyType, generate_key
from sailmesh.ca.material import CaMaterial
from sailmesh.ca.signing import SigningRefused, sign_csr
from sailmesh.clock import ManualClock

ME = SpiffeId("cluster.local", "default", "reviews")
HOUR = 3600.0


def _csr(key: object, names: list[x509.GeneralName]) -> bytes:
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=True)
    return builder.sign(key, hashes.SHA256()).public_bytes(Encoding.PEM)  # type: ignore[arg-type]


def _tampered(csr_pem: bytes) -> bytes:
    der = bytearray(x509.load_pem_x509_csr(csr_pem).public_bytes(Encoding.DER))
    der[-3] ^= 0x01  # inside the signature value
    body = base64.encodebytes(bytes(der)).decode()
    return (
        f"-----BEGIN CERTIFICATE REQUEST-----\n{body}-----END CERTIFICATE REQUEST-----\n".encode()
    )


def _ec() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


URI = x509.UniformResourceIdentifier

REFUSED: dict[str, Callable[[], bytes]] = {
    "another workload's identity": lambda: make_csr(
        _ec(), SpiffeId("cluster.local", "default", "ratings")
    ),
    "another namespace": lambda: make_csr(_ec(), SpiffeId("cluster.local", "prod", "reviews")),
    "another trust domain": lambda: make_csr(_ec(), SpiffeId("evil.example", "default", "reviews")),
    "an extra DNS name": lambda: _csr(_ec(), [URI(ME.uri), x509.DNSName("reviews.default")]),
    "an extra URI": lambda: _csr(_ec(), [URI(ME.uri), URI("spiffe://cluster.local/ns/x/sa/y")]),
    "no SAN at all": lambda: _csr(_ec(), []),
    "RSA 1024": lambda: make_csr(rsa.generate_private_key(65537, 1024), ME),
    "curve secp256k1": lambda: make_csr(ec.generate_private_key(ec.SECP256K1()), ME),  # type: ignore[arg-type]
    "a bad signature": lambda: _tampered(make_csr(_ec(), ME)),
    "not a CSR": lambda: (
        b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused(case: str, root: CaMaterial, clock: ManualClock) -> None:
    with pytest.raises(SigningRefused):
        sign_csr(root, REFUSED[case](), ME, now=clock.wall())


@pytest.mark.parametrize("ttl", [0.0, -1.0, 48 * HOUR + 1])
def test_ttl_over_the_cap_or_not_positive_is_refused(
    ttl: float, root: CaMaterial, clock: ManualClock
) -> None:
    with pytest.raises(SigningRefused, match="TTL"):
        sign_csr(root, make_csr(_ec(), ME), ME, now=clock.wall(), ttl=ttl, max_ttl=48 * HOUR)


def test_expired_and_not_yet_valid_issuers_sign_nothing(clock: ManualClock) -> None:
    short = self_signed_root("cluster.local", clock.wall(), ttl=100)
    with pytest.raises(SigningRefused, match="expired"):
        sign_csr(short, make_csr(_ec(), ME), ME, now=clock.wall() + 200)
    future = self_signed_root("cluster.local", clock.wall() + 10_000)
    with pytest.raises(SigningRefused, match="not valid yet"):
        sign_csr(future, make_csr(_ec(), ME), ME, now=clock.wall())


@pytest.mark.parametrize("key_type", [KeyType.EC_P256, KeyType.RSA_2048])
def test_issued_certificate(key_type: KeyType, root: CaMaterial, clock: ManualClock) -> None:
    now = clock.wall()
    issued = sign_csr(root, make_csr(generate_key(key_type), ME), ME, now=now, ttl=HOUR)
    leaf = issued.leaf
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.critical and san.value.get_values_for_type(URI) == [ME.uri]
    assert list(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH,
        ExtendedKeyUsageOID.CLIENT_AUTH,
    ]
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert issued.validity == Validity(int(now - BACKDATE), int(now + HOUR))
    assert leaf.subject == x509.Name([])


def test_leaf_never_outlives_its_issuer(clock: ManualClock) -> None:
    short = self_signed_root("cluster.local", clock.wall(), ttl=1800)
    issued = sign_csr(short, make_csr(_ec(), ME), ME, now=clock.wall(), ttl=HOUR)
    assert issued.validity.not_after == Validity.of(short.signing_cert).not_after


def test_chain_through_an_intermediate_verifies_as_a_client(
    root: CaMaterial, clock: ManualClock
) -> None:
    inter = issue_intermediate(root, clock.wall())
    assert inter.chain[1:] == root.chain and inter.intermediates == (inter.signing_cert,)
    clock.advance(5)
    issued = sign_csr(inter, make_csr(_ec(), ME), ME, now=clock.wall(), ttl=HOUR)
    chain = x509.load_pem_x509_certificates(issued.chain_pem)
    assert chain == [issued.leaf, inter.signing_cert]
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store(list(root.roots)))
        .time(issued.leaf.not_valid_before_utc.replace(microsecond=0))
        .build_client_verifier()
    )
    verified = verifier.verify(issued.leaf, chain[1:])
    assert [URI(ME.uri)] == [n for n in verified.subjects or [] if isinstance(n, URI)]


def test_authority_signs_only_its_own_trust_domain(root: CaMaterial, clock: ManualClock) -> None:
    authority = Authority(root, clock, trust_domains=TrustDomains("cluster.local", ("old",)))
    other = SpiffeId("old", "default", "reviews")
    with pytest.raises(SigningRefused, match="trust domain"):
        authority.sign(make_csr(_ec(), other), other)
    issued = authority.sign(make_csr(_ec(), ME), ME)
    assert issued.validity.lifetime == pytest.approx(24 * HOUR + BACKDATE, abs=1)


def test_repr_never_shows_a_key(root: CaMaterial, clock: ManualClock) -> None:
    assert "KEY" not in repr(root) and "signing_key" not in repr(root)
    assert "KEY" not in repr(Authority(root, clock))
