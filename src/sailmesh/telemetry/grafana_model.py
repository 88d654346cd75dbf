"""Grafana's dashboard JSON model, as much of it as the shipped dashboards use (pure).

In: panels (a title, PromQL targets with legends, a unit, a kind) and template variables
(``label_values`` queries). Out: :meth:`Dashboard.to_json`, a document Grafana imports, its
panels on a two-column grid over a ``$datasource`` Prometheus data source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


@dataclass(frozen=True)
class Panel:
    title: str
    exprs: tuple[tuple[str, str], ...]  # (legend, PromQL)
    unit: str = "short"
    kind: str = "timeseries"


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    query: str  # Grafana's label_values(...) query


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    panels: tuple[Panel, ...]
    variables: tuple[Variable, ...] = ()

    def to_json(self) -> dict[str, Any]:
        panels = []
        for index, panel in enumerate(self.panels):
            panels.append(
                {
                    "id": index + 1,
                    "type": panel.kind,
                    "title": panel.title,
                    "datasource": DATASOURCE,
                    "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
                    "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
                    "targets": [
                        {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend}
                        for i, (legend, expr) in enumerate(panel.exprs)
                    ],
                }
            )
        variables: list[dict[str, Any]] = [
            {
                "name": "datasource",
                "type": "datasource",
                "query": "prometheus",
                "label": "Data source",
            }
        ]
        variables += [
            {
                "name": v.name,
                "label": v.label,
                "type": "query",
                "datasource": DATASOURCE,
                "query": v.query,
                "refresh": 1,
                "includeAll": True,
                "multi": True,
                "allValue": ".*",
            }
            for v in self.variables
        ]
        return {
            "uid": self.uid,
            "title": self.title,
            "tags": ["istio", "sailmesh"],
            "schemaVersion": 39,
            "time": {"from": "now-30m", "to": "now"},
            "refresh": "10s",
            "templating": {"list": variables},
            "panels": panels,
        }
