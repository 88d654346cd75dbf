"""Semantic validation per kind (what Istio's validating webhook enforces).

In: a typed :class:`~sailmesh.config.resource.Resource`. Out: problems appended to a
:class:`~sailmesh.config.diagnostics.Report`, each with a field path; validators never raise
for bad user config. One module per Istio kind (``virtualservice``, ``destinationrule``,
``gateway``, ``sidecar``, ``serviceentry``, ``envoyfilter``, ``telemetry``, ``extensions``,
``install``), shared checks in ``common``, ``routing`` and ``resilience``, the ``security`` and
``kubernetes`` subpackages, and ``registry``: the (group, kind) -> validator table the parser uses.
"""
