"""``sailctl explain``: why a request failed, from its response code and Envoy response flags.

In: an access-log line in Istio's default format (:mod:`.accesslog`), the mesh's config and
running pods (an :class:`~sailmesh.config.analysis.context.AnalysisContext`), and the
namespace and pod of the proxy that logged it. Out: per flag, its meaning (:mod:`.flags`) and
a finding (:mod:`.causes`) naming the cause, the config object and field path that decided
(:mod:`.lookup`), and the fix (:mod:`.report` renders them). Pure: no I/O.
"""

from sailmesh.xds.explain.accesslog import AccessLogEntry, from_code, parse_line
from sailmesh.xds.explain.report import Explanation, explain, render

__all__ = ["AccessLogEntry", "Explanation", "explain", "from_code", "parse_line", "render"]
