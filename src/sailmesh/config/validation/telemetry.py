"""Validation rules and kind table for the telemetry kinds (placeholder until filled in)."""

from __future__ import annotations

from sailmesh.config.kinds import KindInfo

KINDS: tuple[KindInfo, ...] = ()
