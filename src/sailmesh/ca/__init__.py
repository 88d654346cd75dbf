"""The certificate authority: workload identities, key policy, CSR signing, safe persistence.

In: the mesh's trust domain (and aliases), a state directory or a plug-in ``cacerts`` directory
(Istio's ``ca-cert.pem``, ``ca-key.pem``, ``root-cert.pem``, ``cert-chain.pem``), PEM CSRs
with the SPIFFE identity a caller vouches the requester is entitled to, and an injected
:class:`~sailmesh.clock.Clock`. Out: short-lived workload certificate chains (PEM), trust
bundles (PEM roots, old and new during a root rotation), renewal times, and expiry warnings.
Private keys flow only one way: the CA's own key stays inside :class:`~sailmesh.ca.authority.
Authority` and its 0600 files; workload keys never reach this package (it sees CSRs).

Modules, one job each: :mod:`~sailmesh.ca.identity` (SPIFFE ids, trust domains),
:mod:`~sailmesh.ca.keys` (key generation and the key policy), :mod:`~sailmesh.ca.certs`
(building root, intermediate and workload certificates), :mod:`~sailmesh.ca.authority` (the
signing key and chain, trust bundle, root rotation), :mod:`~sailmesh.ca.signing` (the signing
rules), :mod:`~sailmesh.ca.csr` (the workload side's CSR), :mod:`~sailmesh.ca.storage` (files
0600 in 0700 dirs, atomic writes, plug-in ``cacerts``), :mod:`~sailmesh.ca.rotation` (when to
renew, what expires soon). No Envoy knowledge; no I/O outside :mod:`~sailmesh.ca.storage`.
"""
