"""Running every analyzer over a set of resources, like ``istioctl analyze --use-kube=false``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sailmesh.config.analysis import framework
from sailmesh.config.analysis import messages as msg
from sailmesh.config.analysis.context import AnalysisContext
from sailmesh.config.diagnostics import Problem
from sailmesh.config.resource import Resource


def analyze(
    resources: Sequence[Resource],
    load_problems: Iterable[Problem] = (),
    analyzers: Sequence[framework.Analyzer] | None = None,
    only: str | None = None,
) -> list[Problem]:
    """Load problems as IST messages plus the findings of ``analyzers`` (all by default).

    ``only`` names one analyzer to run. An analyzer that raises contributes an IST0001
    InternalError message naming it instead of aborting the analysis.
    """
    if analyzers is None:
        from sailmesh.config.analysis.analyzers import ALL_ANALYZERS

        analyzers = ALL_ANALYZERS
    if only is not None:
        analyzers = [a for a in analyzers if a.name == only]
    found = framework.load_problem_messages(load_problems)
    ctx = AnalysisContext(resources)
    for analyzer in analyzers:
        try:
            found.extend(analyzer.run(ctx))
        except Exception as exc:  # an analyzer bug must not hide the other findings
            detail = f"analyzer {analyzer.name} failed: {type(exc).__name__}: {exc}"
            found.append(msg.INTERNAL_ERROR.detached(detail))
    return found
