"""What a CA signs with: its key, its certificate, the chain up to the root, and the roots.

:class:`CaMaterial` is checked when built (:meth:`CaMaterial.check`): the key matches the
signing certificate, that certificate is a CA, each chain link is signed by the next, and the
chain ends at a self-signed root among ``roots``. Its ``repr`` never shows the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from sailmesh.ca.certs import Validity, pem
from sailmesh.ca.keys import PrivateKey, check_private_key, same_public_key
from sailmesh.errors import CaError


@dataclass(frozen=True)
class CaMaterial:
    signing_key: PrivateKey = field(repr=False)
    #: The signing certificate first, then its issuers up to and including the root.
    chain: tuple[x509.Certificate, ...]
    #: The trust anchors this material's chain ends at (usually one root).
    roots: tuple[x509.Certificate, ...]

    @property
    def signing_cert(self) -> x509.Certificate:
        return self.chain[0]

    @property
    def intermediates(self) -> tuple[x509.Certificate, ...]:
        """The chain without self-signed roots: what a leaf is sent with."""
        return tuple(c for c in self.chain if not _self_signed(c))

    def roots_pem(self) -> bytes:
        return b"".join(pem(c) for c in self.roots)

    def check(self) -> CaMaterial:
        """``self`` when consistent, else :class:`CaError` saying what is wrong."""
        check_private_key(self.signing_key)
        if not self.chain or not self.roots:
            raise CaError("CA material needs a signing certificate and a root")
        if not same_public_key(self.signing_key.public_key(), self.signing_cert.public_key()):
            raise CaError("the CA key does not match the CA certificate")
        if not _is_ca(self.signing_cert):
            raise CaError("the CA certificate is not a CA (basicConstraints CA:FALSE)")
        for child, parent in zip(self.chain, self.chain[1:], strict=False):
            if not _signed_by(child, parent):
                raise CaError(
                    f"chain broken: {child.subject.rfc4514_string()!r} is not signed by the next certificate"
                )
        top = self.chain[-1]
        anchor = top if _self_signed(top) else None
        if anchor is None:
            anchor = next((r for r in self.roots if _signed_by(top, r)), None)
        if anchor is None or not any(anchor == r for r in self.roots):
            raise CaError("the CA chain does not end at the root certificate")
        return self

    def validities(self) -> dict[str, Validity]:
        """Each CA certificate's validity, by a label for warnings (``root``/``intermediate-N``)."""
        found: dict[str, Validity] = {}
        for i, cert in enumerate(self.intermediates):
            found[f"intermediate-{i}"] = Validity.of(cert)
        for i, root in enumerate(self.roots):
            found["root" if i == 0 else f"root-{i}"] = Validity.of(root)
        return found


def _self_signed(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject and _signed_by(cert, cert)


def _signed_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    if child.issuer != parent.subject:
        return False
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    return constraints.ca
