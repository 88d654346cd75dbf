"""An explanation of one request: its flags' meanings and findings, as text a user reads.

In: an access-log entry, the mesh (:class:`AnalysisContext`), the proxy's namespace and pod.
Out: :class:`Explanation` (and :func:`render`)::

    GET /ratings/0 to ratings:9080 -> 555 FI via outbound|9080||ratings.default.svc.cluster.local
      FI  FaultInjected: a fault injection aborted the request
          cause: a fault injection aborted with 555 the request to ratings.default.svc.cluster.local
          knob:  VirtualService default/ratings spec.http[0].fault = {abort: {...}}
          fix:   remove spec.http[0].fault.abort or lower its percentage
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sailmesh.config.analysis.context import AnalysisContext, Workload
from sailmesh.xds.explain.accesslog import AccessLogEntry
from sailmesh.xds.explain.causes import findings
from sailmesh.xds.explain.flags import describe
from sailmesh.xds.explain.situation import Finding, Situation


@dataclass(frozen=True)
class Explanation:
    entry: AccessLogEntry
    findings: tuple[Finding, ...]
    count: int = 1

    @property
    def ok(self) -> bool:
        return not self.entry.flags and self.entry.code < 400 and not self.findings


def explain(
    entry: AccessLogEntry,
    ctx: AnalysisContext,
    namespace: str,
    pod: Workload | None = None,
    gateway: bool = False,
    pods_by_ip: Mapping[str, str] | None = None,
) -> Explanation:
    """``pods_by_ip``: the running pods (``10.244.0.5`` -> ``default/reviews-v1-0``)."""
    situation = Situation(entry, ctx, namespace, pod, gateway, dict(pods_by_ip or {}))
    return Explanation(entry, tuple(findings(situation)))


def render(explanation: Explanation) -> list[str]:
    entry = explanation.entry
    times = f" ({explanation.count} times)" if explanation.count > 1 else ""
    lines = [entry.summary() + times]
    by_flag = {f.flag: f for f in explanation.findings}
    for flag in entry.flags:
        name, meaning = describe(flag)
        lines.append(f"  {flag:<4} {name}: {meaning}")
        lines += _finding_lines(by_flag.pop(flag, None))
    for finding in by_flag.values():
        lines.append(f"  {finding.flag}")
        lines += _finding_lines(finding)
    if not entry.flags and not by_flag:
        if entry.code >= 400 and entry.details == "via_upstream":
            lines.append(f"  no response flag: the upstream app itself answered {entry.code}")
        elif entry.code >= 400 or entry.code == 0:
            lines.append(f"  no response flag; Envoy's detail: {entry.details or '-'}")
        else:
            lines.append("  no response flag: the request succeeded")
    return lines


def _finding_lines(finding: Finding | None) -> list[str]:
    if finding is None:
        return []
    out = [f"       cause: {finding.cause}"]
    out += [f"       knob:  {knob}" for knob in finding.knobs]
    if finding.fix:
        out.append(f"       fix:   {finding.fix}")
    return out
