"""SPIFFE workload identities: ``spiffe://<trust domain>/ns/<namespace>/sa/<service account>``.

:class:`SpiffeId` builds, parses and validates Istio's form of the id; :class:`TrustDomains` is
the mesh's trust domain with its aliases (ids of an alias domain are trusted as if they were
of the primary one, as Istio's ``trustDomainAliases`` do during a trust-domain migration).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sailmesh.errors import CaError

DEFAULT_TRUST_DOMAIN = "cluster.local"
SCHEME = "spiffe://"

# A trust domain: lowercase letters, digits, dots, dashes, underscores (SPIFFE ID spec).
_TRUST_DOMAIN = re.compile(r"^[a-z0-9._-]{1,255}$")
# Kubernetes names (namespace: DNS label; service account: DNS subdomain).
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)


class IdentityError(CaError):
    """A SPIFFE id or trust domain that is malformed."""


def check_trust_domain(domain: str) -> str:
    """``domain`` when it is a valid trust domain, else :class:`IdentityError`."""
    if not _TRUST_DOMAIN.match(domain) or domain.startswith(".") or ".." in domain:
        raise IdentityError(f"invalid trust domain {domain!r}")
    return domain


@dataclass(frozen=True, order=True)
class SpiffeId:
    """A workload identity in Istio's form."""

    trust_domain: str
    namespace: str
    service_account: str

    def __post_init__(self) -> None:
        check_trust_domain(self.trust_domain)
        if not _DNS_LABEL.match(self.namespace):
            raise IdentityError(f"invalid namespace {self.namespace!r} in a SPIFFE id")
        if not _DNS_SUBDOMAIN.match(self.service_account):
            raise IdentityError(f"invalid service account {self.service_account!r} in a SPIFFE id")

    @property
    def uri(self) -> str:
        return f"{SCHEME}{self.trust_domain}/ns/{self.namespace}/sa/{self.service_account}"

    def __str__(self) -> str:
        return self.uri

    def in_domain(self, trust_domain: str) -> SpiffeId:
        """The same workload under another trust domain."""
        return SpiffeId(trust_domain, self.namespace, self.service_account)

    @classmethod
    def parse(cls, uri: str) -> SpiffeId:
        """``spiffe://td/ns/<ns>/sa/<sa>`` (exactly that shape: no query, fragment, port,
        user info, empty or dot segments), else :class:`IdentityError`."""
        if not uri.startswith(SCHEME):
            raise IdentityError(f"not a SPIFFE id (scheme): {uri!r}")
        domain, _, path = uri[len(SCHEME) :].partition("/")
        parts = path.split("/")
        if len(parts) != 4 or parts[0] != "ns" or parts[2] != "sa":
            raise IdentityError(f"not an Istio SPIFFE id (/ns/<ns>/sa/<sa>): {uri!r}")
        return cls(domain, parts[1], parts[3])


@dataclass(frozen=True)
class TrustDomains:
    """The mesh's trust domain and its aliases (from mesh config ``trustDomain`` and
    ``trustDomainAliases``)."""

    primary: str = DEFAULT_TRUST_DOMAIN
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_trust_domain(self.primary)
        for alias in self.aliases:
            check_trust_domain(alias)

    @property
    def all(self) -> tuple[str, ...]:
        return (self.primary, *(a for a in self.aliases if a != self.primary))

    def trusts(self, identity: SpiffeId) -> bool:
        """Whether ``identity``'s domain is the primary one or an alias."""
        return identity.trust_domain in self.all

    def workload(self, namespace: str, service_account: str) -> SpiffeId:
        """The identity a workload of ``namespace``/``service_account`` gets (primary domain)."""
        return SpiffeId(self.primary, namespace, service_account)

    def equivalents(self, identity: SpiffeId) -> tuple[SpiffeId, ...]:
        """``identity`` under every trusted domain (authorization matches any of them), or
        nothing when its domain is not trusted."""
        if not self.trusts(identity):
            return ()
        return tuple(identity.in_domain(d) for d in self.all)
