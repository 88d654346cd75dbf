"""Access logs as the mesh config and the Telemetry API configure them."""

from __future__ import annotations

from telemetry_support import objects

from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.telemetry.accesslog import (
    ISTIO_JSON_FORMAT,
    ISTIO_TEXT_FORMAT,
    FileLog,
    file_logs,
    mesh_format,
)
from sailmesh.telemetry.policy import applicable

JSON_MESH = MeshConfig.from_dict({"accessLogEncoding": "JSON"})


def test_without_telemetry_the_mesh_config_decides() -> None:
    assert file_logs([], MeshConfig(), "/dev/stdout", "source") == [FileLog("/dev/stdout")]
    assert file_logs([], MeshConfig(), "", "source") == []
    off = MeshConfig.from_dict({"accessLogFile": ""})
    assert file_logs([], off, "/dev/stdout", "source") == []
    to_file = MeshConfig.from_dict(
        {"accessLogFile": "/tmp/a.log", "accessLogFormat": "%DURATION%\n"}
    )
    assert file_logs([], to_file, "", "destination") == [FileLog("/tmp/a.log", "%DURATION%\n")]


def test_encodings_and_formats() -> None:
    assert mesh_format(MeshConfig()) == (ISTIO_TEXT_FORMAT, None)
    assert mesh_format(JSON_MESH)[1] == ISTIO_JSON_FORMAT
    assert dict(ISTIO_JSON_FORMAT)["response_code"] == "%RESPONSE_CODE%"
    custom = MeshConfig.from_dict(
        {"accessLogEncoding": "JSON", "accessLogFormat": '{"c": "%RESPONSE_CODE%"}'}
    )
    assert mesh_format(custom)[1] == (("c", "%RESPONSE_CODE%"),)
    broken = MeshConfig.from_dict({"accessLogEncoding": "JSON", "accessLogFormat": "not json"})
    assert mesh_format(broken)[1] == ISTIO_JSON_FORMAT  # Istio's fallback


TELEMETRIES = objects("""
Telemetry istio-system/mesh
  accessLogging:
  - providers: [{name: envoy}]
---
Telemetry default/errors
  accessLogging:
  - providers: [{name: envoy}]
    filter: {expression: "response.code >= 400"}
---
Telemetry default/quiet-clients
  selector: {matchLabels: {app: reviews}}
  accessLogging:
  - match: {mode: CLIENT}
    disabled: true
  - match: {mode: SERVER}
    providers: [{name: audit}]
""")
MESH = MeshConfig.from_dict(
    {
        "accessLogEncoding": "JSON",
        "extensionProviders": [
            {"name": "audit", "envoyFileAccessLog": {"path": "/tmp/audit.log",
                                                     "logFormat": {"text": "%REQ(:PATH)%\n"}}},
        ],
    }
)  # fmt: skip


def logs(namespace: str, labels: dict[str, str], reporter: str) -> list[FileLog]:
    found = applicable(TELEMETRIES, "istio-system", namespace, labels)
    return file_logs(found, MESH, "", reporter)  # type: ignore[arg-type]


def test_telemetry_providers_filters_modes_and_precedence() -> None:
    (mesh_wide,) = logs("bookinfo", {}, "source")
    assert mesh_wide == FileLog("/dev/stdout", ISTIO_TEXT_FORMAT, ISTIO_JSON_FORMAT)
    (filtered,) = logs("default", {"app": "details"}, "destination")
    assert filtered.filter == "response.code >= 400" and filtered.json == ISTIO_JSON_FORMAT
    assert logs("default", {"app": "reviews"}, "source") == []  # the workload disables CLIENT
    server = logs("default", {"app": "reviews"}, "destination")
    assert [(x.path, x.text, x.filter) for x in server] == [
        ("/dev/stdout", ISTIO_TEXT_FORMAT, "response.code >= 400"),
        ("/tmp/audit.log", "%REQ(:PATH)%\n", None),
    ]


def test_unknown_providers_and_filters_envoy_cannot_evaluate() -> None:
    telemetries = objects("""
Telemetry default/odd
  accessLogging:
  - providers: [{name: otel-als}]
  - providers: [{name: envoy}]
    filter: {expression: "response.code | 200"}
""")
    (log,) = file_logs(telemetries, MeshConfig(), "", "source")
    assert log.path == "/dev/stdout" and log.filter is None  # not enforced: logs everything


def test_a_text_format_ends_its_record_with_a_newline_as_istio_does() -> None:
    from sailmesh.telemetry.accesslog import line_format

    assert line_format("%RESPONSE_CODE%") == "%RESPONSE_CODE%\n"
    assert line_format("%RESPONSE_CODE%\n") == "%RESPONSE_CODE%\n"
    assert line_format("") == line_format(None) == ""
