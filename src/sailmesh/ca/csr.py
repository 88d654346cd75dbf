"""The workload side's certificate signing request: a CSR for a SPIFFE id, signed with a key
the workload generated and keeps (the CA never sees it)."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from sailmesh.ca.identity import SpiffeId
from sailmesh.ca.keys import PrivateKey


def make_csr(key: PrivateKey, identity: SpiffeId) -> bytes:
    """A PEM CSR naming ``identity`` as its only (URI) subject alternative name."""
    san = x509.SubjectAlternativeName([x509.UniformResourceIdentifier(identity.uri)])
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .add_extension(san, critical=True)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(Encoding.PEM)
