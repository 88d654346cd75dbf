"""Knobs of translation that are not Istio config: access logging, explicit-proxy port."""

from __future__ import annotations

from dataclasses import dataclass

from sailmesh.snapshot.mesh import MeshConfig

#: Istio's default text access log format (``meshConfig.accessLogFormat`` unset).
ISTIO_ACCESS_LOG_FORMAT = (
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" '
    "%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "
    '"%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% '
    '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" '
    '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% '
    "%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% "
    "%REQUESTED_SERVER_NAME% %ROUTE_NAME%\n"
)


@dataclass(frozen=True)
class TranslateOptions:
    """Per-proxy translation settings.

    ``access_log_path``: ``None`` follows ``meshConfig.accessLogFile`` (empty: no access log);
    ``""`` disables; ``/dev/stdout`` or a file path enables Istio's text format (or
    ``access_log_format``). ``explicit_port``: the port of the ``http_proxy`` listener of an
    interception ``NONE`` proxy (bound on 127.0.0.1). ``protocol_detection_timeout_nanos``: how
    long sniffing listeners wait for the first bytes (0: no timeout, Istio's default).
    ``gateway_bind`` / ``gateway_ports``: where a gateway's server listeners bind (default
    ``0.0.0.0`` and the server port); the local runtime's explicit mode binds them on
    ``127.0.0.1`` and substitutes ports (``(server port, bound port)`` pairs) that are taken.
    ``sds``: the proxy has a workload identity over SDS (node metadata ``SAILMESH_SDS``).
    """

    access_log_path: str | None = None
    access_log_format: str = ISTIO_ACCESS_LOG_FORMAT
    explicit_port: int = 15001
    protocol_detection_timeout_nanos: int = 0
    gateway_bind: str | None = None
    gateway_ports: tuple[tuple[int, int], ...] = ()
    #: The proxy's bootstrap has the ``sds-grpc`` cluster (its node agent serves ``default``
    #: and ``ROOTCA``): only then may its config reference secrets (mutual TLS).
    sds: bool = False

    def gateway_listen_port(self, port: int) -> int:
        """The port a gateway binds for its server ``port``."""
        return dict(self.gateway_ports).get(port, port)

    def log_path(self, mesh: MeshConfig) -> str:
        return mesh.access_log_file if self.access_log_path is None else self.access_log_path

    def log_format(self, mesh: MeshConfig) -> str:
        """``meshConfig.accessLogFormat`` when set (a newline is added, as Istio does), else
        ``access_log_format``. Peer identity is available to it through Envoy's operators:
        ``%DOWNSTREAM_PEER_URI_SAN%`` (the client's SPIFFE id on an inbound mTLS connection,
        ``-`` for plaintext), ``%DOWNSTREAM_TLS_VERSION%``, ``%UPSTREAM_PEER_URI_SAN%``."""
        if not mesh.access_log_format:
            return self.access_log_format
        text = mesh.access_log_format
        return text if text.endswith("\n") else text + "\n"


DEFAULT_OPTIONS = TranslateOptions()
