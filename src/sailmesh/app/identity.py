"""Workload identity wiring: the local mesh's CA (:class:`MeshIdentity`), the signer and SDS
secret renderer handed to the runtime's node agents (:class:`~sailmesh.runtime.agent.pods.
IdentityIssuer`), and what the API shows of it.

The CA: a plug-in CA directory given to ``sailctl up --cacerts DIR`` (Istio's ``ca-cert.pem``,
``ca-key.pem``, ``root-cert.pem``, ``cert-chain.pem``; read in place, never copied), else the
self-signed root kept in ``$SAILMESH_HOME/ca`` (0700; files 0600), created on the first start
and reused by every later one. Istio's other way, a Secret ``cacerts`` in ``istio-system``, is
not read: its key would sit in the config store, which ``sailctl get`` prints; applying one is
answered with a warning (:func:`cacerts_secret_warnings`).

The trust domain follows ``meshConfig.trustDomain`` (default ``cluster.local``) with its
``trustDomainAliases``; a change re-issues every pod's certificate in the new domain. The CA
signs identities of the primary domain only; the trust bundle (``ROOTCA``) holds this mesh's
roots, so a peer of an alias domain is trusted when its certificate chains to them (as after a
trust-domain change with the same CA); matching peer names across aliases is the job of the TLS
contexts and authorization policies that name them.

The signer is an in-process call to the :class:`~sailmesh.ca.authority.Authority` with the
identity the runtime vouches for (it derived it from the plan of the pod it started); nothing
the workload sends can change that identity. Nothing here logs or returns a private key: status
answers hold certificates' subjects, serials and validity only.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography import x509

from sailmesh.ca.authority import Authority, load_or_create
from sailmesh.ca.certs import Validity
from sailmesh.ca.identity import DEFAULT_TRUST_DOMAIN, SpiffeId, TrustDomains
from sailmesh.ca.rotation import CA_WARN_FRACTION, WORKLOAD_WARN_FRACTION, nearing_expiry
from sailmesh.ca.signing import IssuedChain
from sailmesh.clock import SYSTEM_CLOCK, Clock
from sailmesh.config.resource import Resource
from sailmesh.errors import CaError
from sailmesh.runtime.agent.pods import IdentityIssuer, PodCertificate, PodIdentities
from sailmesh.runtime.agent.workload import SecretRenderer, Signer
from sailmesh.xds.secrets import render_workload_secrets

log = logging.getLogger("sailmesh.app")

#: Envoy's ``default``/``ROOTCA`` secrets from PEM (see :mod:`sailmesh.xds.secrets`).
SECRET_RENDERER: SecretRenderer = render_workload_secrets
#: The self-signed CA's directory under ``$SAILMESH_HOME``.
CA_DIR = "ca"
PLUGIN_SECRET = ("istio-system", "cacerts")


def ca_signer(authority: Authority, ttl: float | None = None) -> Signer:
    """``signer(csr_pem, identity)`` signing through ``authority`` (its default TTL unless
    ``ttl``)."""

    def sign(csr_pem: bytes, identity: SpiffeId) -> IssuedChain:
        return authority.sign(csr_pem, identity, ttl)

    return sign


def trust_domains_of(mesh_config: Mapping[str, Any]) -> TrustDomains:
    """``trustDomain`` and ``trustDomainAliases`` of a meshConfig document."""
    aliases = mesh_config.get("trustDomainAliases") or ()
    return TrustDomains(
        str(mesh_config.get("trustDomain") or DEFAULT_TRUST_DOMAIN),
        tuple(str(a) for a in aliases),
    )


def cacerts_secret_warnings(resources: Iterable[Resource]) -> list[str]:
    """A warning for a ``cacerts`` Secret in ``istio-system`` (Istio's plug-in CA), which this
    mesh does not read."""
    return [
        "warning: Secret istio-system/cacerts is stored but not used as the mesh's CA (its key "
        "would be readable through the API): give the files to `sailctl up --cacerts DIR`"
        for r in resources
        if r.kind == "Secret" and (r.namespace, r.name) == PLUGIN_SECRET
    ]


class MeshIdentity:
    """The local mesh's CA and the pods' node agents it signs for."""

    def __init__(
        self,
        home: Path,
        trust: TrustDomains | None = None,
        *,
        cacerts: Path | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        trust = trust or TrustDomains()
        self.ca_dir = home / CA_DIR
        self.plugin_dir = cacerts
        self.clock = clock
        material = load_or_create(self.ca_dir, clock, trust.primary, cacerts=cacerts)
        self.authority = Authority(material, clock, trust_domains=trust)
        #: The runtime's node agents, once it runs (None: no runtime, or explicit mode).
        self.pods: PodIdentities | None = None
        #: Serialises root rotations.
        self.rotation_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MeshIdentity({self.authority!r}, source={self.source!r})"

    @property
    def source(self) -> str:
        if self.plugin_dir is not None:
            return f"plug-in CA from {self.plugin_dir}"
        return f"self-signed root in {self.ca_dir}"

    def issuer(self) -> IdentityIssuer:
        """What the runtime's node agents sign through."""
        authority = self.authority
        return IdentityIssuer(
            trust_domain=lambda: authority.trust_domains.primary,
            signer_for=lambda ttl: ca_signer(authority, ttl),
            renderer=SECRET_RENDERER,
        )

    def follow_mesh_config(self, mesh_config: Mapping[str, Any]) -> None:
        """Take the trust domain (and aliases) of ``mesh_config``; a new primary domain
        re-issues every pod's certificate in it."""
        try:
            wanted = trust_domains_of(mesh_config)
        except CaError as exc:  # validation reported it; keep the current domain
            log.warning("meshConfig trust domain not used: %s", exc)
            return
        current = self.authority.trust_domains
        if wanted == current:
            return
        self.authority.trust_domains = wanted
        if wanted.primary != current.primary:
            log.info("trust domain %s -> %s: re-issuing", current.primary, wanted.primary)
            if self.pods is not None:
                self.pods.retarget(wanted.primary)

    # --- what the metrics show ------------------------------------------------------------
    def root_expiry(self) -> float:
        """Unix time the newest trusted root expires."""
        return max(Validity.of(c).not_after for c in self.authority.trust_roots())

    def chain_expiry(self) -> float:
        """Unix time the first certificate of the signing chain expires."""
        return min(Validity.of(c).not_after for c in self.authority.signing_chain())

    # --- what the API shows ----------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """The CA (source, trust domains, signing chain, trust bundle), every pod's
        certificate and the expiry warnings (see :mod:`sailmesh.ca.rotation`). No key."""
        chain = self.authority.signing_chain()
        pods = self.pods.certificates() if self.pods is not None else []
        return {
            "source": self.source,
            "trustDomain": self.authority.trust_domains.primary,
            "trustDomainAliases": list(self.authority.trust_domains.aliases),
            "signingChain": [cert_summary(c, _ca_role(c)) for c in chain],
            "trustRoots": [cert_summary(c, "root") for c in self.authority.trust_roots()],
            "workloads": [
                {
                    "namespace": p.namespace,
                    "pod": p.pod,
                    "identity": p.info.identity,
                    "serial": p.info.serial_hex,
                    "notBefore": iso(p.info.validity.not_before),
                    "notAfter": iso(p.info.validity.not_after),
                }
                for p in pods
            ],
            "warnings": self.warnings(chain, pods),
        }

    def warnings(
        self, chain: Iterable[x509.Certificate], pods: Iterable[PodCertificate]
    ) -> list[str]:
        """One line per CA certificate with less than a third of its lifetime left, and per
        workload certificate with less than 15 % left (its renewal is overdue)."""
        now = self.clock.wall()
        ca = {
            f"{_ca_role(c)} CA certificate {c.subject.rfc4514_string()}": Validity.of(c)
            for c in chain
        }
        lines = [
            f"warning: {e.label} {_ends(e.remaining)} ({iso(e.not_after)}): less than a third "
            "of its lifetime is left; plan a rotation (sailctl ca rotate-root)"
            for e in nearing_expiry(ca, now, CA_WARN_FRACTION)
        ]
        workloads = {
            f"workload certificate of {p.namespace}/{p.pod} ({p.info.identity})": p.info.validity
            for p in pods
        }
        lines += [
            f"warning: {e.label} {_ends(e.remaining)} ({iso(e.not_after)}): it was not renewed "
            "(renewal is due by 80 % of its lifetime)"
            for e in nearing_expiry(workloads, now, WORKLOAD_WARN_FRACTION)
        ]
        return lines


def cert_summary(cert: x509.Certificate, role: str) -> dict[str, str]:
    validity = Validity.of(cert)
    return {
        "role": role,
        "subject": cert.subject.rfc4514_string(),
        "serial": format(cert.serial_number, "x"),
        "notBefore": iso(validity.not_before),
        "notAfter": iso(validity.not_after),
    }


def _ca_role(cert: x509.Certificate) -> str:
    return "root" if cert.issuer == cert.subject else "intermediate"


def iso(timestamp: float) -> str:
    """``2026-05-16T01:32:52Z`` (as istioctl prints certificate times)."""
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ends(remaining: float) -> str:
    if remaining <= 0:
        return f"expired {_span(-remaining)} ago"
    return f"expires in {_span(remaining)}"


def _span(seconds: float) -> str:
    """``3d4h``, ``2h5m``, ``9m58s``, ``12s``."""
    s = int(seconds)
    days, hours, minutes = s // 86400, s % 86400 // 3600, s % 3600 // 60
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes}m"
    if minutes:
        return f"{minutes}m{s % 60}s"
    return f"{s}s"
