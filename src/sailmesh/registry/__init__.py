"""The service registry: what exists in the mesh, independent of Envoy.

In: Kubernetes-shaped Services, live workloads from the runtime (pods with addresses), and
ServiceEntry / WorkloadEntry config. Out: immutable :class:`Service`, :class:`Workload` and
:class:`Endpoint` values (hostnames, ports with protocols, virtual IPs, labels, service
accounts, localities) and change notifications for the control plane.
"""
