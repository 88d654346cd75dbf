"""Typed models of the Kubernetes kinds the local runtime and analyzers read.

In: the YAML shape of each kind (Kubernetes' own field names). Out: pydantic bodies used by the
kind table. ``workloads`` holds pod specs, Pods and Deployments; ``objects`` Namespace,
ServiceAccount, Service, Secret and ConfigMap.
"""
