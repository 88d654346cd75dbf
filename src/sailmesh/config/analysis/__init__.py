"""Cross-resource analysis with Istio's message codes (``istioctl analyze`` offline).

In: a set of validated resources plus the problems found while loading them. Out: messages
(:class:`~sailmesh.config.diagnostics.Problem` with an ``ISTnnnn`` code), filtered by
suppressions and thresholds, formatted as Istio prints them.
"""
