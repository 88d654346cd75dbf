"""Typed models of every kind's YAML shape (pydantic v2, camelCase aliases, unknown fields forbidden)."""
