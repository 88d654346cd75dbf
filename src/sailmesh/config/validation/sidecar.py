"""Sidecar validation: workload selector, ingress and egress listeners, outbound policy."""

from __future__ import annotations

from sailmesh.config.diagnostics import Report, join_path
from sailmesh.config.models.gateway import IstioEgressListener, IstioIngressListener, SidecarSpec
from sailmesh.config.resource import Resource
from sailmesh.config.validation.common import (
    check_namespace_hosts,
    check_workload_selector,
    is_ip,
    port_problem,
)
from sailmesh.config.validation.destinationrule import check_connection_pool
from sailmesh.config.validation.gateway import check_port_block, check_server_tls
from sailmesh.config.validation.routing import check_destination

SPEC = "spec"
_LOCAL_HOSTS = {"127.0.0.1", "0.0.0.0", "[::1]", "[::]"}


def validate_sidecar(resource: Resource, report: Report) -> None:
    spec: SidecarSpec = resource.spec
    check_workload_selector(report, spec.workload_selector, kind="Sidecar")
    bound: dict[tuple[str, int], str] = {}
    for i, ingress in enumerate(spec.ingress):
        _check_ingress(report, join_path(join_path(SPEC, "ingress"), i), ingress, bound)
    bound = {}  # egress ports are unique among egress listeners only
    catch_all: int | None = None
    for i, egress in enumerate(spec.egress):
        at = join_path(join_path(SPEC, "egress"), i)
        _check_egress(report, at, egress, bound)
        if egress.port is None:
            if catch_all is not None:
                report.error(at, "only one egress listener may omit the port (the catch-all)")
            catch_all = i
    if catch_all is not None and catch_all != len(spec.egress) - 1:
        report.error(
            join_path(join_path(SPEC, "egress"), catch_all),
            "the egress listener without a port must be the last one in the list",
        )
    if spec.inbound_connection_pool is not None:
        check_connection_pool(
            report, join_path(SPEC, "inboundConnectionPool"), spec.inbound_connection_pool
        )
    if (policy := spec.outbound_traffic_policy) is not None and policy.egress_proxy is not None:
        at = join_path(SPEC, "outboundTrafficPolicy.egressProxy")
        if policy.mode != "ALLOW_ANY":
            report.error(at, "egressProxy can only be set with mode ALLOW_ANY")
        check_destination(report, at, policy.egress_proxy)
        if policy.egress_proxy.port is None or policy.egress_proxy.port.number is None:
            report.error(
                join_path(at, "port.number"), "required field is missing: egressProxy needs a port"
            )


def _check_bind_unique(
    report: Report,
    path: str,
    bind: str | None,
    number: int | None,
    bound: dict[tuple[str, int], str],
) -> None:
    if number is None:
        return
    key = (bind or "", number)
    if key in bound:
        report.error(
            path,
            f"port {number} is already used by {bound[key]}; ports on IP-bound "
            "listeners must be unique",
        )
    else:
        bound[key] = path


def _check_ingress(
    report: Report, path: str, ingress: IstioIngressListener, bound: dict[tuple[str, int], str]
) -> None:
    check_port_block(report, join_path(path, "port"), ingress.port, name_required=False)
    _check_bind(report, join_path(path, "bind"), ingress.bind)
    number = ingress.port.number if ingress.port else None
    _check_bind_unique(report, join_path(path, "port.number"), ingress.bind, number, bound)
    if ingress.default_endpoint:
        _check_default_endpoint(
            report, join_path(path, "defaultEndpoint"), ingress.default_endpoint
        )
    if ingress.tls is not None:
        at = join_path(path, "tls")
        if ingress.tls.mode not in ("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL"):
            report.error(
                join_path(at, "mode"),
                f"tls mode {ingress.tls.mode} is not supported on "
                "sidecar ingress; use SIMPLE or MUTUAL",
            )
        if ingress.tls.https_redirect:
            report.error(
                join_path(at, "httpsRedirect"), "httpsRedirect is not supported on sidecar ingress"
            )
        check_server_tls(report, at, ingress.tls)
    if ingress.connection_pool is not None:
        check_connection_pool(report, join_path(path, "connectionPool"), ingress.connection_pool)


def _check_default_endpoint(report: Report, path: str, endpoint: str) -> None:
    if endpoint.startswith("unix://"):
        if len(endpoint) == len("unix://"):
            report.error(path, "unix:// endpoint needs a socket path")
        return
    host, _, port = endpoint.rpartition(":")
    if host not in _LOCAL_HOSTS or not port.isdigit() or port_problem(int(port)):
        report.error(
            path,
            f"invalid defaultEndpoint {endpoint!r}: use 127.0.0.1:<port>, "
            "0.0.0.0:<port>, [::1]:<port>, [::]:<port> or unix:///path",
        )


def _check_bind(report: Report, path: str, bind: str | None) -> None:
    if bind and not (is_ip(bind) or bind.startswith("unix://")):
        report.error(path, f"invalid bind {bind!r}: use an IP address or unix:///path")


def _check_egress(
    report: Report, path: str, egress: IstioEgressListener, bound: dict[tuple[str, int], str]
) -> None:
    if egress.port is not None:
        check_port_block(report, join_path(path, "port"), egress.port, name_required=False)
        _check_bind_unique(
            report, join_path(path, "port.number"), egress.bind, egress.port.number, bound
        )
    _check_bind(report, join_path(path, "bind"), egress.bind)
    if egress.bind and egress.bind.startswith("unix://") and egress.capture_mode != "NONE":
        report.error(
            join_path(path, "captureMode"),
            "a listener bound to a unix socket needs captureMode NONE",
        )
    check_namespace_hosts(
        report,
        join_path(path, "hosts"),
        egress.hosts,
        gateway=False,
        missing="list the reachable hosts as namespace/dnsName (e.g. './*', 'istio-system/*')",
    )


__all__ = ["validate_sidecar"]
