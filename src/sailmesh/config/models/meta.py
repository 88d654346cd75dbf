"""Kubernetes object metadata, shared by every kind's resource and by pod templates."""

from __future__ import annotations

from typing import Any

from sailmesh.config.models.base import Model


class ObjectMeta(Model):
    """Kubernetes object metadata (the fields config objects carry)."""

    name: str = ""
    generate_name: str | None = None
    namespace: str | None = None
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    resource_version: str | None = None
    generation: int | None = None
    uid: str | None = None
    creation_timestamp: Any = None
    deletion_timestamp: Any = None
    deletion_grace_period_seconds: int | None = None
    owner_references: list[dict[str, Any]] | None = None
    finalizers: list[str] | None = None
    managed_fields: list[dict[str, Any]] | None = None
    self_link: str | None = None
