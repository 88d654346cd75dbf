"""MeshConfig ``extensionProviders`` that authorization calls: Envoy's external authorization
over HTTP (``envoyExtAuthzHttp``) and gRPC (``envoyExtAuthzGrpc``).

In: the raw ``extensionProviders`` list of the meshConfig document (Istio's YAML shape).
Out: frozen :class:`ExtAuthzProvider` values by name, which CUSTOM AuthorizationPolicies name
in ``provider.name``. Entries of other kinds (tracing, logging, metrics providers) and entries
without a name are left out here; validation (``sailmesh.config.validation.install``) reports
malformed ones with their field paths, so reading stays lenient and never raises.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

ExtAuthzKind = Literal["http", "grpc"]
PROVIDER_KEYS: Mapping[str, ExtAuthzKind] = {
    "envoyExtAuthzHttp": "http",
    "envoyExtAuthzGrpc": "grpc",
}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class RequestBody:
    """``includeRequestBodyInCheck``: buffer the body (up to a size) and send it along."""

    max_request_bytes: int = 0
    allow_partial_message: bool = False
    pack_as_bytes: bool = False


@dataclass(frozen=True)
class ExtAuthzProvider:
    """One external authorization service (HTTP or gRPC) and how requests are checked."""

    name: str
    kind: ExtAuthzKind
    #: ``[<namespace>/]<hostname>`` of the service (a Service or ServiceEntry host).
    service: str
    port: int
    timeout_seconds: float | None = None
    path_prefix: str = ""
    fail_open: bool = False
    status_on_error: int | None = None
    clear_route_cache: bool = False
    include_request_headers_in_check: tuple[str, ...] = ()
    include_additional_headers_in_check: tuple[tuple[str, str], ...] = ()
    headers_to_upstream_on_allow: tuple[str, ...] = ()
    headers_to_downstream_on_deny: tuple[str, ...] = ()
    headers_to_downstream_on_allow: tuple[str, ...] = ()
    request_body: RequestBody | None = None

    @property
    def hostname(self) -> str:
        return self.service.rpartition("/")[2]

    @property
    def namespace(self) -> str | None:
        ns, sep, _ = self.service.rpartition("/")
        return ns if sep else None


def parse_duration(value: Any) -> float | None:
    """``"0.5s"``, ``"200ms"``, ``"1m"`` -> seconds; None when absent or malformed."""
    if not isinstance(value, str):
        return None
    found = _DURATION.match(value.strip())
    return float(found.group(1)) * _UNIT_SECONDS[found.group(2)] if found else None


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        return ()
    return tuple(str(v) for v in value if isinstance(v, str) and v)


def _status(value: Any) -> int | None:
    try:
        code = int(str(value))
    except ValueError:
        return None
    return code if 100 <= code <= 599 else None


def _body(value: Any) -> RequestBody | None:
    if not isinstance(value, Mapping):
        return None
    try:
        size = int(value.get("maxRequestBytes") or 0)
    except (TypeError, ValueError):
        size = 0
    return RequestBody(
        max_request_bytes=max(size, 0),
        allow_partial_message=bool(value.get("allowPartialMessage", False)),
        pack_as_bytes=bool(value.get("packAsBytes", False)),
    )


def _port(value: Any) -> int | None:
    try:
        port = int(value)
    except (TypeError, ValueError):
        return None
    return port if 1 <= port <= 65535 else None


def _provider(name: str, kind: ExtAuthzKind, body: Mapping[str, Any]) -> ExtAuthzProvider | None:
    service, port = body.get("service"), _port(body.get("port"))
    if not isinstance(service, str) or not service or port is None:
        return None
    extra = body.get("includeAdditionalHeadersInCheck")
    additional = (
        tuple(sorted((str(k), str(v)) for k, v in extra.items()))
        if isinstance(extra, Mapping)
        else ()
    )
    return ExtAuthzProvider(
        name=name,
        kind=kind,
        service=service,
        port=port,
        timeout_seconds=parse_duration(body.get("timeout")),
        path_prefix=str(body.get("pathPrefix") or ""),
        fail_open=bool(body.get("failOpen", False)),
        status_on_error=_status(body["statusOnError"]) if "statusOnError" in body else None,
        clear_route_cache=bool(body.get("clearRouteCache", False)),
        include_request_headers_in_check=_strings(
            body.get("includeRequestHeadersInCheck") or body.get("includeHeadersInCheck")
        ),
        include_additional_headers_in_check=additional,
        headers_to_upstream_on_allow=_strings(body.get("headersToUpstreamOnAllow")),
        headers_to_downstream_on_deny=_strings(body.get("headersToDownstreamOnDeny")),
        headers_to_downstream_on_allow=_strings(body.get("headersToDownstreamOnAllow")),
        request_body=_body(body.get("includeRequestBodyInCheck")),
    )


def ext_authz_providers(raw: Any) -> tuple[ExtAuthzProvider, ...]:
    """The ext_authz providers of a meshConfig ``extensionProviders`` list (first of a name wins)."""
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        return ()
    found: dict[str, ExtAuthzProvider] = {}
    for entry in raw:
        if not isinstance(entry, Mapping):
            continue
        name = entry.get("name")
        if not isinstance(name, str) or not name or name in found:
            continue
        for key, kind in PROVIDER_KEYS.items():
            body = entry.get(key)
            if isinstance(body, Mapping):
                provider = _provider(name, kind, body)
                if provider is not None:
                    found[name] = provider
                break
    return tuple(found.values())
