"""sailmesh's own analyzer: fields and kinds accepted but not enforced (SM0001 NotEnforced)."""

from __future__ import annotations

from collections.abc import Iterator

from sailmesh.config.analysis import messages as msg
from sailmesh.config.analysis.context import AnalysisContext
from sailmesh.config.analysis.framework import Analyzer
from sailmesh.config.diagnostics import Problem
from sailmesh.config.unenforced import find_unenforced


def _not_enforced(ctx: AnalysisContext) -> Iterator[Problem]:
    for resource in ctx.by_key.values():
        for use in find_unenforced(resource):
            yield msg.NOT_ENFORCED.at(resource, use.path, use.entry.reason, path=use.path)


NOT_ENFORCED = Analyzer(
    "sailmesh.NotEnforcedAnalyzer",
    "Reports kinds and fields sailmesh accepts but does not enforce yet",
    _not_enforced,
    (msg.NOT_ENFORCED.code,),
)

ANALYZERS = (NOT_ENFORCED,)
