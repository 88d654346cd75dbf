"""Semantic validation per kind (what Istio's validating webhook enforces).

In: a typed :class:`~sailmesh.config.resource.Resource`. Out: problems appended to a
:class:`~sailmesh.config.diagnostics.Report`, each with a field path; validators never raise
for bad user config. Each module also exports ``KINDS``: the kind table entries of its group.
"""
