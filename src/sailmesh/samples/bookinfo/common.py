"""What the bookinfo services share beyond the HTTP server of :mod:`sailmesh.samples.web`:
the trace headers to propagate and upstream calls (through ``http_proxy`` in explicit mode).
"""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Iterable, Mapping
from urllib.parse import SplitResult, urlsplit

TYPE_CHECKING = False  # typing/dataclasses stay unimported: start-up time matters
if TYPE_CHECKING:
    from typing import Any

# Headers an application must copy from its inbound request onto its outbound calls so the
# mesh can stitch traces together (the list of Istio's productpage/reviews). ``x-datadog-*``
# headers are matched by prefix in :func:`propagated_headers`.
TRACE_HEADERS: tuple[str, ...] = (
    "x-request-id",
    "traceparent",
    "tracestate",
    "x-b3-traceid",
    "x-b3-spanid",
    "x-b3-parentspanid",
    "x-b3-sampled",
    "x-b3-flags",
    "b3",
    "x-ot-span-context",
    "x-cloud-trace-context",
    "grpc-trace-bin",
    "sw8",
    "user-agent",
)


def propagated_headers(incoming: Mapping[str, str], extra: Iterable[str] = ()) -> dict[str, str]:
    """The tracing headers (plus ``extra`` names) of ``incoming`` to send upstream."""
    wanted = set(TRACE_HEADERS).union(extra)
    return {
        name: value
        for name, value in incoming.items()
        if name in wanted or name.startswith("x-datadog-")
    }


def _http_proxy(host: str) -> SplitResult | None:
    """The ``http_proxy`` to use for ``host`` (the local mesh's explicit mode sets it), if any."""
    url = os.environ.get("http_proxy") or os.environ.get("HTTP_PROXY")
    if not url:
        return None
    bypass = os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or ""
    for entry in (e.strip().lstrip(".") for e in bypass.split(",")):
        if entry == "*" or (entry and (host == entry or host.endswith("." + entry))):
            return None
    parsed = urlsplit(url if "://" in url else f"http://{url}")
    return parsed if parsed.hostname else None


class Upstream:
    """Where a dependency listens: ``<NAME>_HOSTNAME`` / ``<NAME>_SERVICE_PORT`` or defaults."""

    __slots__ = ("host", "port")

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port

    @classmethod
    def from_env(cls, name: str) -> Upstream:
        """``name``'s address from the environment, as Istio's bookinfo reads it."""
        prefix = name.upper()
        host = os.environ.get(f"{prefix}_HOSTNAME") or name
        domain = os.environ.get("SERVICES_DOMAIN")
        if domain and "." not in host:
            host = f"{host}.{domain}"
        return cls(host, int(os.environ.get(f"{prefix}_SERVICE_PORT") or 9080))

    def get_json(self, path: str, headers: Mapping[str, str], timeout: float) -> tuple[int, Any]:
        """GET ``path``: ``(status, parsed JSON or None)``; status 0 when the call failed."""
        proxy = _http_proxy(self.host)
        if proxy is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            target = path
        else:  # absolute-form request through the proxy: Host is "<host>:<port>"
            host = proxy.hostname or "127.0.0.1"
            conn = http.client.HTTPConnection(host, proxy.port or 80, timeout=timeout)
            target = f"http://{self.host}:{self.port}{path}"
        try:
            conn.request("GET", target, headers=dict(headers))
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            return 0, None
        finally:
            conn.close()
        try:
            return response.status, json.loads(data) if data else None
        except ValueError:
            return response.status, None
