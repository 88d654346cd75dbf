"""Validation of the Kubernetes kinds the local runtime reads, as the API server would check them.

In: typed Namespace, ServiceAccount, Service, Secret, ConfigMap, Pod and Deployment resources.
Out: problems with field paths. ``names`` holds the Kubernetes name syntax every validator
shares (labels, DNS-1123 names, port and header names), ``objects`` the core kinds, ``pods``
pod specs and Deployments.
"""
