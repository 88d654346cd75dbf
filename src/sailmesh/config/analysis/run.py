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
    live: bool = False,
) -> list[Problem]:
    """Load problems as IST messages plus the findings of ``analyzers`` (all by default).

    ``only`` names one analyzer to run; ``live``: the resources are a running mesh's (its
    Pods are the running pods, see :class:`AnalysisContext`). An analyzer that raises
    contributes an IST0001 InternalError message naming it instead of aborting the analysis.
    """
    if analyzers is None:
        from sailmesh.config.analysis.analyzers import ALL_ANALYZERS, OPT_IN_ANALYZERS

        analyzers = ALL_ANALYZERS
        if only is not None:  # an opt-in analyzer runs when named
            analyzers = (*ALL_ANALYZERS, *OPT_IN_ANALYZERS)
    if only is not None:
        analyzers = [a for a in analyzers if a.name == only]
    loaded = framework.load_problem_messages(load_problems)
    ctx = AnalysisContext(resources, live=live)
    found: list[Problem] = []
    for analyzer in analyzers:
        try:
            found.extend(analyzer.run(ctx))
        except Exception as exc:  # an analyzer bug must not hide the other findings
            detail = f"analyzer {analyzer.name} failed: {type(exc).__name__}: {exc}"
            found.append(msg.INTERNAL_ERROR.detached(detail))
    return [*_not_reported_by(found, loaded), *found]


def _not_reported_by(found: list[Problem], loaded: list[Problem]) -> list[Problem]:
    """Validation warns about deprecated fields while loading and the deprecation analyzer
    reports them in Istio's words: drop the load warning of a field the analyzer reported."""
    code = msg.DEPRECATED.code
    reported = {(p.ref, p.path) for p in found if p.code == code}
    return [p for p in loaded if p.code != code or (p.ref, p.path) not in reported]
