"""Gateway validation (servers, ports, hosts, TLS) and the server-TLS rules Sidecar reuses."""

from __future__ import annotations

from sailmesh.config.diagnostics import Report, join_path
from sailmesh.config.models.gateway import GatewaySpec, Server
from sailmesh.config.models.networking_common import Port, ServerTLSSettings
from sailmesh.config.resource import Resource
from sailmesh.config.validation.common import (
    check_label_map,
    check_namespace_hosts,
    check_not_given,
    check_port,
    check_protocol,
    fields_given,
    is_ip,
    parse_protocol,
)

SPEC = "spec"
_TLS_VERSION_ORDER = ("TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3")


def validate_gateway(resource: Resource, report: Report) -> None:
    spec: GatewaySpec = resource.spec
    check_label_map(report, join_path(SPEC, "selector"), spec.selector)
    servers_path = join_path(SPEC, "servers")
    if not spec.servers:
        report.error(
            servers_path,
            "required field is missing: a Gateway needs at least one server (port, hosts)",
        )
    port_names: dict[str, int] = {}
    for i, server in enumerate(spec.servers):
        at = join_path(servers_path, i)
        _check_server(report, at, server)
        name = server.port.name if server.port else None
        if name:
            if name in port_names:
                report.error(
                    join_path(at, "port.name"),
                    f"duplicate port name {name!r} (also "
                    f"used by servers[{port_names[name]}]); port names must be unique "
                    "within a Gateway",
                )
            port_names.setdefault(name, i)


def check_port_block(report: Report, path: str, port: Port | None, *, name_required: bool) -> None:
    """A Gateway/Sidecar port: number, protocol and (for gateways) name are required."""
    if port is None:
        report.error(path, "required field is missing (number, protocol, name)")
        return
    check_port(report, join_path(path, "number"), port.number, required=True)
    check_protocol(report, join_path(path, "protocol"), port.protocol, required=True)
    if name_required and not port.name:
        report.error(
            join_path(path, "name"), "required field is missing (e.g. 'http' or 'https-443')"
        )
    check_port(report, join_path(path, "targetPort"), port.target_port)


def _check_server(report: Report, path: str, server: Server) -> None:
    check_port_block(report, join_path(path, "port"), server.port, name_required=True)
    if server.port is not None and server.port.target_port is not None:
        report.warn(
            join_path(path, "port.targetPort"),
            "targetPort is deprecated on Gateway servers and ignored",
        )
    check_namespace_hosts(
        report,
        join_path(path, "hosts"),
        server.hosts,
        gateway=True,
        missing="list the hosts this server exposes (e.g. 'bookinfo.example.com' or '*')",
    )
    if server.bind and not (is_ip(server.bind) or server.bind.startswith("unix://")):
        report.error(
            join_path(path, "bind"),
            f"invalid bind {server.bind!r}: use an IP address or unix:///path",
        )
    protocol = parse_protocol(server.port.protocol if server.port else None)
    tls_path = join_path(path, "tls")
    if protocol in ("HTTPS", "TLS"):
        if server.tls is None:
            report.error(
                tls_path,
                f"a {protocol} server needs tls settings (e.g. mode: SIMPLE, "
                "credentialName: my-cert)",
            )
    elif server.tls is not None and not server.tls.https_redirect and protocol is not None:
        report.error(
            tls_path,
            f"tls settings are only allowed on HTTPS or TLS servers (this one "
            f"is {protocol}); change the protocol or remove tls",
        )
    if server.tls is not None:
        if server.tls.https_redirect and protocol not in (None, "HTTP"):
            report.warn(
                join_path(tls_path, "httpsRedirect"), "httpsRedirect only applies to HTTP servers"
            )
        if protocol in ("HTTPS", "TLS") or not server.tls.https_redirect:
            check_server_tls(report, tls_path, server.tls)
        if protocol == "HTTPS" and server.tls.mode == "AUTO_PASSTHROUGH":
            report.error(join_path(tls_path, "mode"), "AUTO_PASSTHROUGH needs protocol TLS")


def check_server_tls(report: Report, path: str, tls: ServerTLSSettings) -> None:
    """Certificates required or forbidden per mode (SIMPLE, MUTUAL, ISTIO_MUTUAL, ...)."""
    certs = fields_given(
        ("serverCertificate", tls.server_certificate),
        ("privateKey", tls.private_key),
        ("caCertificates", tls.ca_certificates),
        ("credentialName", tls.credential_name),
        ("credentialNames", tls.credential_names),
        ("tlsCertificates", tls.tls_certificates),
    )
    if tls.mode == "ISTIO_MUTUAL":
        for field in certs:
            report.error(
                join_path(path, field),
                f"{field} cannot be set with mode ISTIO_MUTUAL "
                "(Istio provides the certificates); remove it or use mode MUTUAL",
            )
    elif tls.mode in ("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL"):
        _check_certificates(report, path, tls)
    if tls.credential_name and tls.credential_names:
        report.error(
            join_path(path, "credentialNames"),
            "only one of credentialName or credentialNames may be set",
        )
    if len(tls.credential_names) > 2 or len(tls.tls_certificates) > 2:
        report.error(path, "at most 2 certificates (one RSA, one ECDSA) may be configured")
    versions = (tls.min_protocol_version, tls.max_protocol_version)
    if all(v in _TLS_VERSION_ORDER for v in versions):
        low, high = (_TLS_VERSION_ORDER.index(v or "") for v in versions)
        if high < low:
            report.error(
                join_path(path, "maxProtocolVersion"),
                "maxProtocolVersion is lower than minProtocolVersion",
            )


def _check_certificates(report: Report, path: str, tls: ServerTLSSettings) -> None:
    mode = tls.mode
    by_secret = bool(tls.credential_name or tls.credential_names)
    if by_secret:
        check_not_given(
            report,
            path,
            (("serverCertificate", tls.server_certificate), ("privateKey", tls.private_key)),
            "combined with credentialName; the secret holds the certificate and key",
        )
        return
    if tls.tls_certificates:
        if tls.server_certificate or tls.private_key:
            report.error(
                join_path(path, "tlsCertificates"),
                "use either tlsCertificates or serverCertificate/privateKey, not both",
            )
        return
    if not tls.server_certificate:
        report.error(
            join_path(path, "serverCertificate"),
            f"mode {mode} needs credentialName "
            "(a secret) or serverCertificate and privateKey (file paths)",
        )
    if not tls.private_key:
        report.error(
            join_path(path, "privateKey"),
            f"mode {mode} needs credentialName (a "
            "secret) or serverCertificate and privateKey (file paths)",
        )
    if mode in ("MUTUAL", "OPTIONAL_MUTUAL") and not tls.ca_certificates:
        report.error(
            join_path(path, "caCertificates"),
            f"mode {mode} needs caCertificates to "
            "verify client certificates (or use credentialName)",
        )


__all__ = ["check_port_block", "check_server_tls", "validate_gateway"]
