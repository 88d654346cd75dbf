"""Knobs of translation that are not Istio config: the default access log, explicit-proxy port."""

from __future__ import annotations

from dataclasses import dataclass

from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.telemetry.accesslog import ISTIO_TEXT_FORMAT

#: Istio's default text access log format (``meshConfig.accessLogFormat`` unset).
ISTIO_ACCESS_LOG_FORMAT = ISTIO_TEXT_FORMAT


@dataclass(frozen=True)
class TranslateOptions:
    """Per-proxy translation settings.

    ``access_log_path``: the proxy's access log file when neither ``meshConfig.accessLogFile``
    nor a Telemetry ``accessLogging`` says otherwise (``None`` or ``""``: none; the local
    runtime's pods say ``/dev/stdout``, Istio's demo profile). ``explicit_port``: the port of the ``http_proxy`` listener of an
    interception ``NONE`` proxy (bound on 127.0.0.1). ``protocol_detection_timeout_nanos``: how
    long sniffing listeners wait for the first bytes (0: no timeout, Istio's default).
    ``gateway_bind`` / ``gateway_ports``: where a gateway's server listeners bind (default
    ``0.0.0.0`` and the server port); the local runtime's explicit mode binds them on
    ``127.0.0.1`` and substitutes ports (``(server port, bound port)`` pairs) that are taken.
    ``sds``: the proxy has a workload identity over SDS (node metadata ``SAILMESH_SDS``).
    """

    access_log_path: str | None = None
    explicit_port: int = 15001
    protocol_detection_timeout_nanos: int = 0
    gateway_bind: str | None = None
    gateway_ports: tuple[tuple[int, int], ...] = ()
    #: The proxy's bootstrap has the ``sds-grpc`` cluster (its node agent serves ``default``
    #: and ``ROOTCA``): only then may its config reference secrets (mutual TLS).
    sds: bool = False
    #: The proxy's bootstrap has the ``sailmesh-agent`` cluster (node metadata
    #: ``SAILMESH_TRACES``): only then can it report spans to the control plane's collector.
    traces: bool = False

    def gateway_listen_port(self, port: int) -> int:
        """The port a gateway binds for its server ``port``."""
        return dict(self.gateway_ports).get(port, port)

    def log_path(self, mesh: MeshConfig) -> str:
        """The access log file without Telemetry objects: the mesh's, else the proxy's."""
        if mesh.access_log_file is not None:
            return mesh.access_log_file
        return self.access_log_path or ""


DEFAULT_OPTIONS = TranslateOptions()
