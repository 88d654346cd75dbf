"""Typed models of every kind's YAML shape (pydantic v2, camelCase aliases, unknown fields forbidden).

In: the YAML data of a document's body. Out: frozen models the kind table, validators,
analyzers and translators read. ``base`` holds the base model and value types (durations,
percents), ``meta`` object metadata; one module per Istio kind group and a ``kubernetes``
subpackage. Models import nothing else from ``sailmesh.config``.
"""
