"""Running analyzers and shaping their output like ``istioctl analyze``.

An :class:`Analyzer` is a named function from an :class:`AnalysisContext` to messages. Load
problems become IST0106 (errors), IST0002 (deprecations) or IST0133 (other warnings). Messages
can be suppressed per resource (``-S "CODE=Kind name[.ns]"``, globs allowed) or by the
``galley.istio.io/analyze-suppress`` annotation, and filtered by level.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from sailmesh.config.analysis import messages as msg
from sailmesh.config.diagnostics import Level, Problem

if TYPE_CHECKING:
    from sailmesh.config.analysis.context import AnalysisContext
    from sailmesh.config.resource import Resource

SUPPRESS_ANNOTATION = "galley.istio.io/analyze-suppress"


@dataclass(frozen=True)
class Analyzer:
    """One analysis: ``name`` like Istio's (``virtualservice.DestinationHostAnalyzer``)."""

    name: str
    description: str
    run: Callable[[AnalysisContext], Iterable[Problem]]
    codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suppression:
    """``CODE=Kind name[.namespace]``; code and resource may use ``*`` globs."""

    code: str
    resource: str

    @classmethod
    def parse(cls, text: str) -> Suppression:
        code, sep, resource = text.partition("=")
        if not sep or not code.strip() or not resource.strip():
            raise ValueError(
                f"invalid suppression {text!r}: use CODE=Kind name[.namespace], e.g. "
                "'IST0102=Namespace default' or 'IST0107=Pod *.testing'"
            )
        return cls(code.strip().upper(), " ".join(resource.split()))

    def matches(self, problem: Problem) -> bool:
        if problem.code is None or problem.ref is None:
            return False
        if not fnmatch.fnmatchcase(problem.code, self.code):
            return False
        ref = problem.ref
        names = [f"{ref.kind} {ref.name}"]
        if ref.namespace:
            names = [
                f"{ref.kind} {ref.name}.{ref.namespace}",
                f"{ref.kind} {ref.namespace}/{ref.name}",
            ]
        return any(fnmatch.fnmatchcase(n, self.resource) for n in names)


def load_problem_messages(problems: Iterable[Problem]) -> list[Problem]:
    """Validation problems found while loading, as Istio analysis messages."""
    out = []
    for p in problems:
        detail = f"{p.path}: {p.message}" if p.path else p.message
        if p.level is Level.ERROR:
            kind = msg.SCHEMA_VALIDATION_ERROR
        elif "deprecated" in p.message.lower():
            kind = msg.DEPRECATED
        else:
            kind = msg.SCHEMA_WARNING
        out.append(Problem(kind.level, kind.template % detail, p.path, p.ref, p.source, kind.code))
    return out


def run_analyzers(ctx: AnalysisContext, analyzers: Sequence[Analyzer]) -> list[Problem]:
    found: list[Problem] = []
    for analyzer in analyzers:
        found.extend(analyzer.run(ctx))
    return found


def suppressed_by_annotation(
    problem: Problem, resources: dict[tuple[str, str, str], Resource]
) -> bool:
    if problem.ref is None or problem.code is None:
        return False
    res = resources.get((problem.ref.kind, problem.ref.namespace or "", problem.ref.name))
    if res is None:
        return False
    value = res.annotations.get(SUPPRESS_ANNOTATION, "")
    codes = {c.strip().upper() for c in value.split(",") if c.strip()}
    return problem.code in codes or "*" in codes


def select(
    problems: Iterable[Problem],
    suppressions: Sequence[Suppression] = (),
    output_threshold: Level = Level.INFO,
    resources: dict[tuple[str, str, str], Resource] | None = None,
) -> list[Problem]:
    """Messages to print: at or above the threshold, not suppressed, de-duplicated and sorted."""
    seen: set[tuple[Any, ...]] = set()
    out = []
    for p in problems:
        if p.level < output_threshold or any(s.matches(p) for s in suppressions):
            continue
        if resources is not None and suppressed_by_annotation(p, resources):
            continue
        key = (p.code, p.ref, p.message, p.source)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return sorted(out, key=_sort_key)


def _sort_key(p: Problem) -> tuple[Any, ...]:
    ref = p.ref
    return (
        -int(p.level),
        p.code or "",
        ref.kind if ref else "",
        ref.namespace or "" if ref else "",
        ref.name if ref else "",
        p.message,
    )


def format_log(p: Problem) -> str:
    """``<Level> [ISTnnnn] (<Kind> <ns>/<name> <file>:<line>) <message>``."""
    where = []
    if p.ref is not None:
        where.append(str(p.ref))
    if p.source is not None:
        where.append(str(p.source))
    origin = f" ({' '.join(where)})" if where else ""
    return f"{p.level.title} [{p.code}]{origin} {p.message}"


def as_records(problems: Iterable[Problem]) -> list[dict[str, Any]]:
    """Istio's JSON/YAML output shape."""
    out = []
    for p in problems:
        mtype = msg.BY_CODE.get(p.code or "")
        record: dict[str, Any] = {
            "code": p.code,
            "documentationUrl": mtype.url if mtype else None,
            "level": p.level.title,
            "message": p.message,
            "origin": str(p.ref) if p.ref else None,
            "reference": str(p.source) if p.source else None,
        }
        if p.path:
            record["path"] = p.path
        out.append(record)
    return out


def render(problems: Sequence[Problem], output: str) -> str:
    if output == "json":
        return json.dumps(as_records(problems), indent=2)
    if output == "yaml":
        return yaml.safe_dump(as_records(problems), sort_keys=False)
    return "\n".join(format_log(p) for p in problems)
