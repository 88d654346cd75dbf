"""The signing rules: which CSRs the CA signs, and what it issues for them.

:func:`sign_csr` signs a PKCS#10 CSR only when all of these hold, else it raises
:class:`SigningRefused` (a :class:`~sailmesh.errors.CaError`) saying which rule failed:

* the CSR parses and its self-signature verifies (the requester holds the private key);
* its public key passes the key policy (:mod:`sailmesh.ca.keys`: no RSA under 2048 bits, EC
  P-256/P-384 only);
* its subject alternative names are exactly one URI, the SPIFFE id the caller vouches the
  requester is entitled to (no other URI, DNS name, IP or e-mail: a workload cannot widen its
  own certificate);
* the requested lifetime is positive and at most ``max_ttl``;
* every certificate of the signing chain is valid now (an expired or not-yet-valid CA signs
  nothing).

The CSR's subject and requested extensions are ignored: the certificate is built from scratch
(:func:`sailmesh.ca.certs.workload`). The entitled identity comes from the caller, never from
the CSR: the CSR only proves possession of the key. A CSR carries no validity of its own; time
enters through the issuer's validity and ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from sailmesh.ca import certs
from sailmesh.ca.certs import BACKDATE, Validity
from sailmesh.ca.identity import SpiffeId
from sailmesh.ca.keys import KeyPolicyError, check_public_key
from sailmesh.ca.material import CaMaterial
from sailmesh.errors import CaError

DEFAULT_TTL = 24 * 3600.0
DEFAULT_MAX_TTL = 90 * 24 * 3600.0


class SigningRefused(CaError):
    """The CA refused to sign a CSR (the message names the rule)."""


@dataclass(frozen=True)
class IssuedChain:
    """A signed workload certificate: the leaf, what to send with it, and what to trust."""

    leaf: x509.Certificate
    intermediates: tuple[x509.Certificate, ...]
    roots_pem: bytes

    @property
    def chain_pem(self) -> bytes:
        """The leaf then its intermediates (the self-signed root is not sent)."""
        return certs.pem(self.leaf) + b"".join(certs.pem(c) for c in self.intermediates)

    @property
    def validity(self) -> Validity:
        return Validity.of(self.leaf)

    @property
    def serial_hex(self) -> str:
        return format(self.leaf.serial_number, "x")


def sign_csr(
    material: CaMaterial,
    csr_pem: bytes,
    entitled: SpiffeId,
    *,
    now: float,
    ttl: float = DEFAULT_TTL,
    max_ttl: float = DEFAULT_MAX_TTL,
) -> IssuedChain:
    """Sign ``csr_pem`` for ``entitled`` (see the module's rules); ``now`` in epoch seconds."""
    csr = _parse(csr_pem)
    if not csr.is_signature_valid:
        raise SigningRefused("CSR signature does not verify")
    try:
        check_public_key(csr.public_key())
    except KeyPolicyError as exc:
        raise SigningRefused(f"CSR key refused: {exc}") from None
    _check_sans(csr, entitled)
    if not 0 < ttl <= max_ttl:
        raise SigningRefused(f"requested TTL {ttl:g}s is not within (0, {max_ttl:g}s]")
    issuer_end = _check_issuers(material, now)
    # A backdate of at most a tenth of the lifetime: a 6 s test certificate must not be mostly
    # in the past, or its renewal (at 50-80 % of its lifetime) would be due at once.
    validity = Validity(now - min(BACKDATE, ttl / 10), min(now + ttl, issuer_end))
    leaf = certs.workload(
        material.signing_key, material.signing_cert, csr.public_key(), entitled.uri, validity
    )
    return IssuedChain(leaf, material.intermediates, material.roots_pem())


def _parse(csr_pem: bytes) -> x509.CertificateSigningRequest:
    try:
        return x509.load_pem_x509_csr(csr_pem)
    except (ValueError, TypeError):
        raise SigningRefused("not a PEM certificate signing request") from None


def _check_sans(csr: x509.CertificateSigningRequest, entitled: SpiffeId) -> None:
    try:
        names = list(csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        raise SigningRefused("CSR has no subject alternative name") from None
    except ValueError:
        raise SigningRefused("CSR extensions do not parse") from None
    uris = [n.value for n in names if isinstance(n, x509.UniformResourceIdentifier)]
    if uris != [entitled.uri] or len(names) != 1:
        shown = ", ".join(str(getattr(n, "value", n)) for n in names)
        raise SigningRefused(
            f"CSR names [{shown}]; the requester is entitled to {entitled.uri} only"
        )


def _check_issuers(material: CaMaterial, now: float) -> float:
    """The earliest end of the signing chain, once every link is valid at ``now``."""
    ends = []
    for cert in material.chain:
        validity = Validity.of(cert)
        if now < validity.not_before:
            raise SigningRefused("the CA certificate is not valid yet")
        if now >= validity.not_after:
            raise SigningRefused("the CA certificate has expired")
        ends.append(validity.not_after)
    return min(ends)
