"""The local runtime: pods as sandboxed processes with Envoy sidecars.

In: workload specs and bootstrap documents. Out: running, supervised processes (Envoy via
:mod:`~sailmesh.runtime.envoy`: locate the binary, start it with a bootstrap, wait for its
admin ``/ready``, stop it by pid). Knows no Istio kinds beyond workload specs.
"""
