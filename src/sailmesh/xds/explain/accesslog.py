"""Reading one line of Istio's default access log (``meshConfig.accessLogFormat`` unset).

In: a text line as a sidecar or gateway writes it (``[start] "GET /p HTTP/1.1" 503 UO ...``).
Out: an :class:`AccessLogEntry` with the fields an explanation needs (code, response flags,
details, authority, upstream cluster and host, route name), or None for other lines (Envoy's
own log lines share the file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE = re.compile(
    r'^\[(?P<start>[^\]]+)\] "(?P<method>\S+) (?P<path>\S+) (?P<protocol>[^"]*)" '
    r"(?P<code>\d+) (?P<flags>\S+) (?P<details>\S+) (?P<termination>\S+) "
    r'"(?P<upstream_failure>[^"]*)" (?P<rx>\S+) (?P<tx>\S+) (?P<duration>\S+) (?P<upstream_time>\S+) '
    r'"(?P<xff>[^"]*)" "(?P<user_agent>[^"]*)" "(?P<request_id>[^"]*)" "(?P<authority>[^"]*)" '
    r'"(?P<upstream_host>[^"]*)" (?P<cluster>\S+) (?P<upstream_local>\S+) '
    r"(?P<downstream_local>\S+) (?P<downstream_remote>\S+) (?P<sni>\S+) (?P<route>\S+)\s*$"
)


def _value(text: str) -> str:
    """Envoy writes ``-`` for an empty value."""
    return "" if text == "-" else text


@dataclass(frozen=True)
class AccessLogEntry:
    method: str
    path: str
    code: int
    flags: tuple[str, ...]
    details: str = ""
    upstream_failure: str = ""
    authority: str = ""
    upstream_host: str = ""
    cluster: str = ""
    route: str = ""
    duration_ms: int | None = None
    downstream_local: str = ""
    start: str = ""

    @property
    def host(self) -> str:
        """The authority without its port."""
        host, _, port = self.authority.rpartition(":")
        return host if host and port.isdigit() else self.authority

    @property
    def port(self) -> int | None:
        """The authority's port, else the downstream local address's (the port called)."""
        for text in (self.authority, self.downstream_local):
            _, sep, port = text.rpartition(":")
            if sep and port.isdigit():
                return int(port)
        return None

    def summary(self) -> str:
        flags = ",".join(self.flags) or "-"
        what = f"{self.method} {self.path}" if self.method else "connection"
        target = self.authority or self.downstream_local or "?"
        via = f" via {self.cluster}" if self.cluster else ""
        return f"{what} to {target} -> {self.code} {flags}{via}"


def parse_line(line: str) -> AccessLogEntry | None:
    found = _LINE.match(line.strip())
    if found is None:
        return None
    g = found.groupdict()
    flags = tuple(f for f in _value(g["flags"]).split(",") if f)
    duration = g["duration"]
    return AccessLogEntry(
        method=_value(g["method"]),
        path=_value(g["path"]),
        code=int(g["code"]),
        flags=flags,
        details=_value(g["details"]),
        upstream_failure=_value(g["upstream_failure"]),
        authority=_value(g["authority"]),
        upstream_host=_value(g["upstream_host"]),
        cluster=_value(g["cluster"]),
        route=_value(g["route"]),
        duration_ms=int(duration) if duration.isdigit() else None,
        downstream_local=_value(g["downstream_local"]),
        start=g["start"],
    )


def from_code(code: int, flags: str, authority: str = "", cluster: str = "") -> AccessLogEntry:
    """An entry for ``sailctl explain --code 503 --flags UO`` (no log line at hand)."""
    return AccessLogEntry(
        method="",
        path="",
        code=code,
        flags=tuple(f for f in flags.split(",") if f and f != "-"),
        authority=authority,
        cluster=cluster,
    )
