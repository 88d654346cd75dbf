"""Istio configuration: YAML in, typed and validated resources out.

In: YAML text (files, directories, stdin) holding Istio kinds (networking, security,
telemetry, extensions; every API version Istio serves) and the Kubernetes kinds the local
runtime needs (Namespace, ServiceAccount, Service, Deployment, Secret, Pod).
Out: :class:`~sailmesh.config.resource.Resource` objects with typed specs,
:class:`~sailmesh.config.diagnostics.Problem` lists that name file, line, object and field
path, cross-resource analysis messages with Istio's IST codes, and the
:class:`~sailmesh.config.store.ConfigStore` (atomic batches, resource versions, change
events, persistence). This layer knows nothing about Envoy.
"""
