"""Access logs as Istio configures them: formats, the mesh config's settings, and the Telemetry
API's ``accessLogging`` (pure).

In: the Telemetry objects that apply to a proxy (least specific first, see
:func:`sailmesh.telemetry.policy.applicable`), the mesh's access-log settings
(:class:`~sailmesh.snapshot.mesh.MeshConfig`: ``accessLogFile``, ``accessLogFormat``,
``accessLogEncoding``, ``extensionProviders``, ``defaultProviders.accessLogging``), the proxy's
default file (the local runtime's pods log to ``/dev/stdout`` unless the mesh says otherwise)
and the reporter (``source``: client side, Telemetry mode CLIENT; ``destination``: SERVER).
Out: the :class:`FileLog` entries of a listener: path, text or JSON format, CEL filter.

Istio's rules: when no Telemetry ``accessLogging`` entry applies to the proxy and mode, the mesh
config decides (``accessLogFile``, empty: no log). Otherwise each entry names providers (its
own, else ``defaultProviders.accessLogging``, else the built-in ``envoy``) and, from the least
to the most specific object, the last entry naming a provider decides whether it logs and with
which ``filter.expression``. The built-in ``envoy`` provider writes to ``/dev/stdout`` in the
mesh's format; an ``envoyFileAccessLog`` extension provider has its own path and format
(``logFormat.text``, or ``logFormat.labels`` for JSON).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sailmesh.config import cel
from sailmesh.config.resource import Resource
from sailmesh.snapshot.mesh import FileLogProvider, MeshConfig
from sailmesh.telemetry.standard import Reporter

ENVOY_PROVIDER = "envoy"
STDOUT = "/dev/stdout"
_MODE_REPORTERS: Mapping[str, tuple[str, ...]] = {
    "CLIENT_AND_SERVER": ("source", "destination"),
    "CLIENT": ("source",),
    "SERVER": ("destination",),
}

#: Istio's default text format (``meshConfig.accessLogFormat`` unset, encoding TEXT).
ISTIO_TEXT_FORMAT = (
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" '
    "%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "
    '"%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% '
    '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" '
    '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% '
    "%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% "
    "%REQUESTED_SERVER_NAME% %ROUTE_NAME%\n"
)
#: Istio's default JSON format (encoding JSON, no valid ``accessLogFormat`` object): its keys.
ISTIO_JSON_FORMAT: tuple[tuple[str, str], ...] = (
    ("start_time", "%START_TIME%"),
    ("route_name", "%ROUTE_NAME%"),
    ("method", "%REQ(:METHOD)%"),
    ("path", "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"),
    ("protocol", "%PROTOCOL%"),
    ("response_code", "%RESPONSE_CODE%"),
    ("response_flags", "%RESPONSE_FLAGS%"),
    ("response_code_details", "%RESPONSE_CODE_DETAILS%"),
    ("connection_termination_details", "%CONNECTION_TERMINATION_DETAILS%"),
    ("bytes_received", "%BYTES_RECEIVED%"),
    ("bytes_sent", "%BYTES_SENT%"),
    ("duration", "%DURATION%"),
    ("upstream_service_time", "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%"),
    ("x_forwarded_for", "%REQ(X-FORWARDED-FOR)%"),
    ("user_agent", "%REQ(USER-AGENT)%"),
    ("request_id", "%REQ(X-REQUEST-ID)%"),
    ("authority", "%REQ(:AUTHORITY)%"),
    ("upstream_host", "%UPSTREAM_HOST%"),
    ("upstream_cluster", "%UPSTREAM_CLUSTER%"),
    ("upstream_local_address", "%UPSTREAM_LOCAL_ADDRESS%"),
    ("downstream_local_address", "%DOWNSTREAM_LOCAL_ADDRESS%"),
    ("downstream_remote_address", "%DOWNSTREAM_REMOTE_ADDRESS%"),
    ("requested_server_name", "%REQUESTED_SERVER_NAME%"),
    ("upstream_transport_failure_reason", "%UPSTREAM_TRANSPORT_FAILURE_REASON%"),
)


@dataclass(frozen=True)
class FileLog:
    """One file access log: JSON when ``json`` is set (key, value pairs in order; values are
    command operators or nested objects), else the text format; ``filter``: a CEL expression."""

    path: str
    text: str = ISTIO_TEXT_FORMAT
    json: tuple[tuple[str, Any], ...] | None = None
    filter: str | None = None


def mesh_format(mesh: MeshConfig) -> tuple[str, tuple[tuple[str, Any], ...] | None]:
    """(text, json) of the mesh's ``accessLogFormat``/``accessLogEncoding``: JSON encoding
    takes the format as a JSON object (Istio's default keys when it is not one)."""
    text = line_format(mesh.access_log_format) or ISTIO_TEXT_FORMAT
    if mesh.access_log_encoding.upper() != "JSON":
        return text, None
    return text, json_object(mesh.access_log_format) or ISTIO_JSON_FORMAT


def line_format(text: str | None) -> str:
    """A user's text format ending in a newline, as Istio ends it (Envoy writes each record
    exactly as formatted: without one, records run together on one line); "" for none."""
    if not text:
        return ""
    return text if text.endswith("\n") else text + "\n"


def json_object(text: str) -> tuple[tuple[str, Any], ...] | None:
    """A JSON object's items in order, or None when ``text`` is not a JSON object."""
    try:
        parsed = json.loads(text) if text.strip() else None
    except ValueError:
        return None
    return tuple(parsed.items()) if isinstance(parsed, dict) and parsed else None


def _provider_log(name: str, mesh: MeshConfig) -> FileLog | None:
    if name == ENVOY_PROVIDER:
        text, as_json = mesh_format(mesh)
        return FileLog(STDOUT, text, as_json)
    provider: FileLogProvider | None = next(
        (p for p in mesh.file_log_providers if p.name == name), None
    )
    if provider is None:
        return None
    labels = json_object(provider.labels_json) if provider.labels_json else None
    text = line_format(provider.text_format) or ISTIO_TEXT_FORMAT
    return FileLog(provider.path or STDOUT, text, labels)


def _entries(telemetries: Iterable[Resource], reporter: Reporter) -> list[Any]:
    out = []
    for t in telemetries:
        spec: Any = t.spec
        for entry in spec.access_logging or []:
            mode = entry.match.mode if entry.match is not None else "CLIENT_AND_SERVER"
            if reporter in _MODE_REPORTERS.get(mode, ()):
                out.append(entry)
    return out


def file_logs(
    telemetries: Iterable[Resource], mesh: MeshConfig, default_path: str, reporter: Reporter
) -> list[FileLog]:
    """The file access logs of a listener reporting as ``reporter`` (see the module doc)."""
    entries = _entries(telemetries, reporter)
    if not entries:
        path = mesh.access_log_file if mesh.access_log_file is not None else default_path
        if not path:
            return []
        text, as_json = mesh_format(mesh)
        return [FileLog(path, text, as_json)]
    decided: dict[str, tuple[bool, str | None]] = {}
    for entry in entries:
        names = [p.name for p in entry.providers or [] if p.name]
        names = names or list(mesh.default_access_log_providers) or [ENVOY_PROVIDER]
        expression = entry.filter.expression if entry.filter is not None else None
        for name in names:
            decided[name] = (bool(entry.disabled), expression)
    out = []
    for name, (disabled, expression) in decided.items():
        log = None if disabled else _provider_log(name, mesh)
        if log is None:
            continue
        # An expression Envoy cannot evaluate is not enforced (the enforcement table reports
        # it): the provider logs everything, as if the filter were not there.
        condition = cel.filter_expression(expression) if expression else None
        out.append(FileLog(log.path, log.text, log.json, condition))
    return out
