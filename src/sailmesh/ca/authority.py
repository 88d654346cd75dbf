"""The certificate authority: its material, how it is created or loaded, the trust bundle,
and root rotation with an overlap.

:func:`load_or_create` gives the CA a mesh runs with: a plug-in ``cacerts`` directory when one
is given (Istio's plug-in CA), else the self-signed root kept under the state directory, created
on first use (EC P-256 by default, or RSA of 2048 bits or more). :class:`Authority` signs CSRs
for identities its caller vouches for (rules in :mod:`sailmesh.ca.signing`) and answers the
trust bundle.

Root rotation, in two steps so no peer ever meets a certificate it cannot verify:

1. :meth:`Authority.trust_root` adds the new CA's roots to the bundle; certificates are still
   signed by the old CA. Workloads pick the larger bundle up (their ``ROOTCA``).
2. :meth:`Authority.switch_to` signs with the new CA from then on; the old roots stay in the
   bundle for ``overlap`` seconds (long enough for every workload certificate of the old root
   to be renewed: more than the workload TTL), then drop out.

The CA key never leaves this object except into its own 0600 files; ``repr`` hides it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from sailmesh.ca import certs
from sailmesh.ca.certs import ca_name
from sailmesh.ca.identity import SpiffeId, TrustDomains
from sailmesh.ca.keys import KeyType, generate_key
from sailmesh.ca.material import CaMaterial
from sailmesh.ca.rotation import CA_WARN_FRACTION, Expiry, expiring, nearing_expiry
from sailmesh.ca.signing import DEFAULT_MAX_TTL, DEFAULT_TTL, IssuedChain, SigningRefused, sign_csr
from sailmesh.ca.storage import CA_KEY, load_cacerts, save_cacerts
from sailmesh.clock import Clock

ROOT_TTL = 10 * 365 * 24 * 3600.0
INTERMEDIATE_TTL = 365 * 24 * 3600.0


def self_signed_root(
    trust_domain: str,
    now: float,
    *,
    key_type: KeyType = KeyType.EC_P256,
    ttl: float = ROOT_TTL,
    common_name: str = "Root CA",
) -> CaMaterial:
    """A new self-signed root that signs workload certificates directly (Istio's default)."""
    key = generate_key(key_type)
    root = certs.self_signed_root(key, ca_name(common_name, trust_domain), now - 60, now + ttl)
    return CaMaterial(key, (root,), (root,)).check()


def issue_intermediate(
    parent: CaMaterial,
    now: float,
    *,
    key_type: KeyType = KeyType.EC_P256,
    ttl: float = INTERMEDIATE_TTL,
    common_name: str = "Intermediate CA",
) -> CaMaterial:
    """A new intermediate CA signed by ``parent`` (chain: intermediate, then ``parent``'s)."""
    key = generate_key(key_type)
    organization = parent.signing_cert.subject.get_attributes_for_oid(
        x509.NameOID.ORGANIZATION_NAME
    )
    name = ca_name(common_name, str(organization[0].value) if organization else "sailmesh")
    cert = certs.intermediate(
        parent.signing_key, parent.signing_cert, key.public_key(), name, now - 60, now + ttl
    )
    return CaMaterial(key, (cert, *parent.chain), parent.roots).check()


def load_or_create(
    state_dir: Path,
    clock: Clock,
    trust_domain: str,
    *,
    cacerts: Path | None = None,
    key_type: KeyType = KeyType.EC_P256,
) -> CaMaterial:
    """The plug-in CA of ``cacerts``, else the CA under ``state_dir`` (created when absent)."""
    if cacerts is not None:
        return load_cacerts(cacerts)
    if (state_dir / CA_KEY).exists():
        return load_cacerts(state_dir)
    material = self_signed_root(trust_domain, clock.wall(), key_type=key_type)
    save_cacerts(state_dir, material)
    return material


@dataclass(frozen=True)
class _Retiring:
    roots: tuple[x509.Certificate, ...]
    until: float


class Authority:
    """Signs workload CSRs with the current CA material; answers the trust bundle."""

    def __init__(
        self,
        material: CaMaterial,
        clock: Clock,
        *,
        trust_domains: TrustDomains | None = None,
        default_ttl: float = DEFAULT_TTL,
        max_ttl: float = DEFAULT_MAX_TTL,
    ) -> None:
        self.trust_domains = trust_domains or TrustDomains()
        self.default_ttl = default_ttl
        self.max_ttl = max_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._material = material.check()
        self._incoming: tuple[x509.Certificate, ...] = ()
        self._retiring: list[_Retiring] = []

    def __repr__(self) -> str:
        subject = self._material.signing_cert.subject.rfc4514_string()
        return f"Authority(signing={subject!r}, trust_domain={self.trust_domains.primary!r})"

    def sign(self, csr_pem: bytes, entitled: SpiffeId, ttl: float | None = None) -> IssuedChain:
        """Sign ``csr_pem`` for ``entitled`` (the identity the caller vouches for; it must be
        of the mesh's trust domain), with the current trust bundle as the chain's roots."""
        if entitled.trust_domain != self.trust_domains.primary:
            raise SigningRefused(
                f"{entitled.uri} is not of trust domain {self.trust_domains.primary}"
            )
        with self._lock:
            material = self._material
        issued = sign_csr(
            material,
            csr_pem,
            entitled,
            now=self._clock.wall(),
            ttl=self.default_ttl if ttl is None else ttl,
            max_ttl=self.max_ttl,
        )
        return IssuedChain(issued.leaf, issued.intermediates, self.trust_bundle())

    def trust_roots(self) -> tuple[x509.Certificate, ...]:
        """The roots peers must trust now: current, incoming, and retiring within overlap."""
        now = self._clock.wall()
        with self._lock:
            self._retiring = [r for r in self._retiring if r.until > now]
            found = [*self._material.roots, *self._incoming]
            for retiring in self._retiring:
                found.extend(retiring.roots)
        unique: list[x509.Certificate] = []
        for root in found:
            if root not in unique:
                unique.append(root)
        return tuple(unique)

    def trust_bundle(self) -> bytes:
        """:meth:`trust_roots` as PEM (Envoy's ``ROOTCA`` validation context)."""
        return b"".join(certs.pem(r) for r in self.trust_roots())

    def trust_root(self, incoming: CaMaterial) -> None:
        """Rotation step 1: trust ``incoming``'s roots too; signing is unchanged."""
        with self._lock:
            self._incoming = tuple(incoming.check().roots)

    def switch_to(self, material: CaMaterial, overlap: float) -> None:
        """Rotation step 2: sign with ``material``; keep trusting the old roots ``overlap``
        seconds more."""
        material.check()
        with self._lock:
            old = tuple(r for r in self._material.roots if r not in material.roots)
            self._material = material
            self._incoming = tuple(r for r in self._incoming if r not in material.roots)
            if old:
                self._retiring.append(_Retiring(old, self._clock.wall() + overlap))

    def expiring(self, threshold: float) -> list[Expiry]:
        """The CA's own certificates (root, intermediates) ending within ``threshold`` s."""
        with self._lock:
            validities = self._material.validities()
        return expiring(validities, self._clock.wall(), threshold)

    def nearing_expiry(self, fraction: float = CA_WARN_FRACTION) -> list[Expiry]:
        """The CA's own certificates with less than ``fraction`` of their lifetime left."""
        with self._lock:
            validities = self._material.validities()
        return nearing_expiry(validities, self._clock.wall(), fraction)

    def signing_chain(self) -> tuple[x509.Certificate, ...]:
        """The signing certificate up to its root (certificates only; the key stays inside)."""
        with self._lock:
            return self._material.chain
