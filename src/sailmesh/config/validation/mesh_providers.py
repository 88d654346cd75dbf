"""Validation of meshConfig ``extensionProviders`` (an IstioOperator's ``spec.meshConfig``).

Every provider needs a unique ``name`` and exactly one provider kind. The external
authorization kinds, which CUSTOM AuthorizationPolicies call, are checked in depth (service,
port, timeout, status on error, path prefix, body buffering), with field paths such as
``spec.meshConfig.extensionProviders[0].envoyExtAuthzHttp.port``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sailmesh.config.diagnostics import Report, join_path

EXT_AUTHZ_KINDS = ("envoyExtAuthzHttp", "envoyExtAuthzGrpc")
#: Provider kinds of Istio's MeshConfig.ExtensionProvider.
PROVIDER_KINDS = (
    *EXT_AUTHZ_KINDS,
    "zipkin",
    "lightstep",
    "datadog",
    "stackdriver",
    "opencensus",
    "skywalking",
    "opentelemetry",
    "prometheus",
    "envoyFileAccessLog",
    "envoyHttpAls",
    "envoyTcpAls",
    "envoyOtelAls",
    "sds",
)
_DURATION = re.compile(r"^\d+(\.\d+)?(ms|s|m|h)$")
_HEADER_LISTS = (
    "includeRequestHeadersInCheck",
    "includeHeadersInCheck",
    "headersToUpstreamOnAllow",
    "headersToDownstreamOnDeny",
    "headersToDownstreamOnAllow",
)


def validate_extension_providers(report: Report, path: str, providers: Any) -> None:
    """``providers`` (at ``path``): a list of named providers, each of one kind."""
    if providers is None:
        return
    if not isinstance(providers, list):
        report.error(path, "must be a list of providers, each with a `name` and one provider kind")
        return
    seen: set[str] = set()
    for index, provider in enumerate(providers):
        at = join_path(path, index)
        if not isinstance(provider, Mapping):
            report.error(at, "each provider is a mapping with a `name` and one provider kind")
            continue
        name = provider.get("name")
        if not isinstance(name, str) or not name:
            report.error(join_path(at, "name"), "required field is missing: the provider's name")
        elif name in seen:
            report.error(
                join_path(at, "name"), f"duplicate provider name {name!r}: names must be unique"
            )
        else:
            seen.add(name)
        kinds = [key for key in provider if key in PROVIDER_KINDS]
        if len(kinds) != 1:
            report.error(
                at,
                f"a provider sets exactly one kind ({', '.join(PROVIDER_KINDS)}); found "
                f"{', '.join(kinds) or 'none'}",
            )
        for kind in kinds:
            if kind in EXT_AUTHZ_KINDS:
                _check_ext_authz(report, join_path(at, kind), provider[kind], kind)


def _check_ext_authz(report: Report, path: str, body: Any, kind: str) -> None:
    if not isinstance(body, Mapping):
        report.error(path, "must be a mapping with at least `service` and `port`")
        return
    service = body.get("service")
    if not isinstance(service, str) or not service:
        report.error(
            join_path(path, "service"),
            "required field is missing: the authorization service as "
            "'[<namespace>/]<hostname>', e.g. 'ext-authz.foo.svc.cluster.local'",
        )
    port = body.get("port")
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        report.error(
            join_path(path, "port"), "required: the service port, a number from 1 to 65535"
        )
    timeout = body.get("timeout")
    if timeout is not None and not (isinstance(timeout, str) and _DURATION.match(timeout)):
        report.error(
            join_path(path, "timeout"), f"invalid duration {timeout!r}: use e.g. '0.5s' or '200ms'"
        )
    status = body.get("statusOnError")
    if status is not None and not (str(status).isdigit() and 100 <= int(str(status)) <= 599):
        report.error(
            join_path(path, "statusOnError"), f"invalid HTTP status {status!r}: use e.g. '503'"
        )
    prefix = body.get("pathPrefix")
    if kind == "envoyExtAuthzHttp" and prefix is not None and not str(prefix).startswith("/"):
        report.error(
            join_path(path, "pathPrefix"), f"pathPrefix must start with '/', found {prefix!r}"
        )
    for name in _HEADER_LISTS:
        value = body.get(name)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) and v for v in value)
        ):
            report.error(join_path(path, name), "must be a list of header names")
    extra = body.get("includeAdditionalHeadersInCheck")
    if extra is not None and not isinstance(extra, Mapping):
        report.error(
            join_path(path, "includeAdditionalHeadersInCheck"), "must map header names to values"
        )
    buffered = body.get("includeRequestBodyInCheck")
    if isinstance(buffered, Mapping):
        size = buffered.get("maxRequestBytes")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            report.error(
                join_path(join_path(path, "includeRequestBodyInCheck"), "maxRequestBytes"),
                "must be a number of bytes (0 or more)",
            )
    elif buffered is not None:
        report.error(
            join_path(path, "includeRequestBodyInCheck"), "must be a mapping (maxRequestBytes, ...)"
        )
