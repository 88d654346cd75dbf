"""Workload identity wiring: the CA's signer and the SDS secret renderer handed to the runtime's
node agent (:class:`~sailmesh.runtime.agent.workload.WorkloadAgent`), as
:mod:`~sailmesh.app.bootstrap` hands it the bootstrap renderer.

The signer is an in-process call to the :class:`~sailmesh.ca.authority.Authority` with the
identity the runtime vouches for (it derived it from the plan of the pod it started); nothing
the workload sends can change that identity.
"""

from __future__ import annotations

from sailmesh.ca.authority import Authority
from sailmesh.ca.identity import SpiffeId
from sailmesh.ca.signing import IssuedChain
from sailmesh.runtime.agent.workload import SecretRenderer, Signer
from sailmesh.xds.secrets import render_workload_secrets

#: Envoy's ``default``/``ROOTCA`` secrets from PEM (see :mod:`sailmesh.xds.secrets`).
SECRET_RENDERER: SecretRenderer = render_workload_secrets


def ca_signer(authority: Authority, ttl: float | None = None) -> Signer:
    """``signer(csr_pem, identity)`` signing through ``authority`` (its default TTL unless
    ``ttl``)."""

    def sign(csr_pem: bytes, identity: SpiffeId) -> IssuedChain:
        return authority.sign(csr_pem, identity, ttl)

    return sign
