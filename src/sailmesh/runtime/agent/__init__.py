"""The node agent (Istio's ``pilot-agent`` role): workload keys, CSRs, SDS for each pod's Envoy.

In: a pod's SPIFFE identity (the runtime knows which pod it started, so it vouches for the
namespace and service account), a signer callable (the CA, wired by :mod:`sailmesh.app`), a
secret renderer (Envoy's ``Secret`` messages, from :mod:`sailmesh.xds.secrets`, also wired by
the app) and the pod's socket path and peer policy. Out: the ``default`` and ``ROOTCA`` secrets
served over SDS on a Unix socket only that pod's Envoy may use, renewed at 50-80 % of the
certificate's lifetime and pushed on the open stream.

:mod:`~sailmesh.runtime.agent.peer` decides who may connect (sans-I/O, plus the lookups),
:mod:`~sailmesh.runtime.agent.gate` enforces it in front of the gRPC server,
:mod:`~sailmesh.runtime.agent.workload` is the per-pod agent, and
:mod:`~sailmesh.runtime.agent.pods` runs one for each pod of a run (and re-issues on demand).
"""
