"""ServiceEntry, WorkloadEntry and WorkloadGroup validation: hosts, addresses, ports, resolution
rules, endpoints, probes.
"""

from __future__ import annotations

from sailmesh.config.diagnostics import Report, join_path
from sailmesh.config.models.serviceentry import (
    ReadinessProbe,
    ServiceEntrySpec,
    WorkloadEntrySpec,
    WorkloadGroupSpec,
)
from sailmesh.config.resource import Resource
from sailmesh.config.validation.common import (
    HTTP_PROTOCOLS,
    TLS_PROTOCOLS,
    check_export_to,
    check_label_map,
    check_port,
    check_protocol,
    check_workload_labels,
    fields_set,
    fqdn_problem,
    is_ip,
    is_ip_or_cidr,
    parse_protocol,
    wildcard_host_problem,
)
from sailmesh.config.validation.kubernetes.names import (
    DNS1123_SUBDOMAIN,
    dns_label_problem,
    header_name_problem,
    map_path,
)

SPEC = "spec"


def validate_service_entry(resource: Resource, report: Report) -> None:
    spec: ServiceEntrySpec = resource.spec
    _check_hosts(report, spec)
    for i, address in enumerate(spec.addresses):
        if not is_ip_or_cidr(address):
            report.error(
                join_path(join_path(SPEC, "addresses"), i),
                f"invalid address "
                f"{address!r}: use an IP or CIDR (e.g. '240.0.0.1' or '10.0.0.0/16')",
            )
    port_names = _check_ports(report, spec)
    if spec.workload_selector is not None:
        check_workload_labels(
            report,
            join_path(SPEC, "workloadSelector.labels"),
            spec.workload_selector.labels,
            kind="ServiceEntry",
        )
        if spec.endpoints:
            report.error(
                join_path(SPEC, "endpoints"), "only one of workloadSelector or endpoints may be set"
            )
    _check_resolution(report, spec, port_names)
    _check_multiple_hosts(report, spec)
    check_export_to(report, join_path(SPEC, "exportTo"), spec.export_to)


def _check_hosts(report: Report, spec: ServiceEntrySpec) -> None:
    path = join_path(SPEC, "hosts")
    if not spec.hosts:
        report.error(
            path, "required field is missing: list at least one host (e.g. 'api.example.com')"
        )
    for i, host in enumerate(spec.hosts):
        at = join_path(path, i)
        if host == "*":
            report.error(
                at,
                "host '*' is not allowed in a ServiceEntry; name the hosts (a "
                "wildcard such as '*.example.com' is allowed)",
            )
            continue
        problem = wildcard_host_problem(host)
        if problem:
            hint = "; put IP addresses in addresses" if is_ip(host) else ""
            report.error(at, problem + hint)
        elif host.startswith("*") and not host.startswith("*."):
            report.warn(at, f"partial wildcard {host!r} is not recommended; use '*.domain'")


def _check_ports(report: Report, spec: ServiceEntrySpec) -> set[str]:
    names: set[str] = set()
    numbers: set[int] = set()
    for i, port in enumerate(spec.ports):
        at = join_path(join_path(SPEC, "ports"), i)
        check_port(report, join_path(at, "number"), port.number, required=True)
        if port.number is not None:
            if port.number in numbers:
                report.error(
                    join_path(at, "number"),
                    f"port {port.number} is already defined; port numbers must be unique",
                )
            numbers.add(port.number)
        if not port.name:
            report.error(
                join_path(at, "name"), "required field is missing (e.g. 'http' or 'tcp-5432')"
            )
        else:
            problem = dns_label_problem(port.name, "port name")
            if problem:
                report.error(join_path(at, "name"), problem)
            if port.name in names:
                report.error(
                    join_path(at, "name"),
                    f"port name {port.name!r} is already defined; port names must be unique",
                )
            names.add(port.name)
        check_protocol(report, join_path(at, "protocol"), port.protocol, required=False)
        check_port(report, join_path(at, "targetPort"), port.target_port)
    if not spec.ports and spec.hosts:
        report.warn(
            join_path(SPEC, "ports"),
            "no ports: the service is not reachable through "
            "the mesh until ports are listed (e.g. {number: 443, name: https, "
            "protocol: TLS})",
        )
    return names


def _opaque(protocol: str | None) -> bool:
    canonical = parse_protocol(protocol)
    return canonical not in HTTP_PROTOCOLS and canonical not in TLS_PROTOCOLS


def _check_resolution(report: Report, spec: ServiceEntrySpec, port_names: set[str]) -> None:
    resolution = spec.resolution
    endpoints_path = join_path(SPEC, "endpoints")
    if resolution == "NONE":
        if spec.endpoints:
            report.error(
                endpoints_path,
                "endpoints cannot be set with resolution NONE; use resolution STATIC or DNS",
            )
        if not spec.addresses and any(_opaque(p.protocol) for p in spec.ports):
            report.warn(
                join_path(SPEC, "addresses"),
                "addresses are needed for TCP (or unknown-protocol) ports when resolution is NONE",
            )
    elif resolution == "STATIC":
        if not spec.endpoints and spec.workload_selector is None:
            report.warn(
                endpoints_path,
                "resolution STATIC without endpoints or "
                "workloadSelector has no endpoints; add endpoints with IP addresses",
            )
    elif resolution in ("DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS"):
        if not spec.endpoints:
            for i, host in enumerate(spec.hosts):
                if host != "*" and fqdn_problem(host) and resolution != "DYNAMIC_DNS":
                    report.error(
                        join_path(join_path(SPEC, "hosts"), i),
                        f"host {host!r} must "
                        f"be a fully qualified name (no wildcard) with resolution "
                        f"{resolution} and no endpoints; use resolution NONE or add "
                        "endpoints",
                    )
        if resolution == "DNS_ROUND_ROBIN" and len(spec.endpoints) > 1:
            report.error(
                endpoints_path,
                f"resolution DNS_ROUND_ROBIN allows at most one "
                f"endpoint (got {len(spec.endpoints)}); use DNS",
            )
    for i, endpoint in enumerate(spec.endpoints):
        check_workload_entry(
            report,
            join_path(endpoints_path, i),
            endpoint,
            allow_fqdn=resolution != "STATIC",
            service_ports=port_names,
        )


def _check_multiple_hosts(report: Report, spec: ServiceEntrySpec) -> None:
    if spec.resolution == "NONE" or len(spec.hosts) < 2:
        return
    if any(_opaque(p.protocol) for p in spec.ports):
        report.error(
            join_path(SPEC, "hosts"),
            "multiple hosts with non-HTTP, non-TLS ports "
            "cannot be told apart; use one ServiceEntry per host or resolution NONE",
        )


def check_workload_entry(
    report: Report,
    path: str,
    entry: WorkloadEntrySpec,
    *,
    allow_fqdn: bool,
    service_ports: set[str] | None,
    require_address: bool = True,
) -> None:
    """Address (IP, unix://, or a DNS name where allowed), ports by name, labels."""
    addr = entry.address
    at = join_path(path, "address")
    if not addr:
        if require_address and not entry.network:
            report.error(at, "required field is missing (an IP address or host name)")
    elif addr.startswith("unix://"):
        if len(addr) == len("unix://"):
            report.error(at, "unix:// address needs a socket path")
        if entry.ports:
            report.error(join_path(path, "ports"), f"unix endpoint {addr} must not have ports")
    elif not is_ip(addr):
        if not allow_fqdn:
            report.error(
                at,
                f"endpoint address {addr!r} must be an IP address or unix:///path "
                "with resolution STATIC; use resolution DNS for host names",
            )
        elif fqdn_problem(addr):
            report.error(at, f"endpoint address {addr!r} is not a valid IP address or host name")
    for name, number in entry.ports.items():
        port_at = map_path(join_path(path, "ports"), name)
        if service_ports is not None and name not in service_ports:
            report.error(
                port_at,
                f"endpoint port {name!r} is not a port name of the "
                f"ServiceEntry (declared: {', '.join(sorted(service_ports)) or 'none'})",
            )
        check_port(report, port_at, number)
    check_label_map(report, join_path(path, "labels"), entry.labels)
    if entry.weight is not None and entry.weight < 0:
        report.error(join_path(path, "weight"), "weight must not be negative")
    if entry.service_account and not DNS1123_SUBDOMAIN.match(entry.service_account):
        report.error(
            join_path(path, "serviceAccount"),
            f"invalid service account {entry.service_account!r}: must be a lowercase RFC 1123 name",
        )


def validate_workload_entry(resource: Resource, report: Report) -> None:
    check_workload_entry(report, SPEC, resource.spec, allow_fqdn=True, service_ports=None)


def validate_workload_group(resource: Resource, report: Report) -> None:
    spec: WorkloadGroupSpec = resource.spec
    if spec.metadata is not None:
        check_label_map(report, join_path(SPEC, "metadata.labels"), spec.metadata.labels)
    template_path = join_path(SPEC, "template")
    if spec.template is None:
        report.error(
            template_path,
            "required field is missing (labels, ports and serviceAccount of the workloads)",
        )
    else:
        template = spec.template
        if template.address:
            report.error(
                join_path(template_path, "address"),
                "address cannot be set in a "
                "WorkloadGroup template; each workload registers its own address",
            )
        check_workload_entry(
            report,
            template_path,
            template.model_copy(update={"address": None}),
            allow_fqdn=True,
            service_ports=None,
            require_address=False,
        )
    if spec.probe is not None:
        _check_probe(report, join_path(SPEC, "probe"), spec.probe)


def _check_probe(report: Report, path: str, probe: ReadinessProbe) -> None:
    for field in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        value = getattr(probe, _snake(field))
        if value is not None and value < 0:
            report.error(join_path(path, field), f"{field} must not be negative")
    methods = fields_set(
        ("httpGet", probe.http_get),
        ("tcpSocket", probe.tcp_socket),
        ("exec", probe.exec),
        ("grpc", probe.grpc),
    )
    if len(methods) != 1:
        report.error(
            path,
            "a probe needs exactly one of httpGet, tcpSocket, exec or grpc"
            + (f" (got {', '.join(methods)})" if methods else ""),
        )
    if (http := probe.http_get) is not None:
        check_port(report, join_path(path, "httpGet.port"), http.port, required=True)
        if http.scheme is not None and http.scheme.upper() not in ("HTTP", "HTTPS"):
            report.error(join_path(path, "httpGet.scheme"), "scheme must be HTTP or HTTPS")
        for i, header in enumerate(http.http_headers):
            problem = header_name_problem(header.name or "")
            if problem:
                report.error(join_path(join_path(path, "httpGet.httpHeaders"), i), problem)
    if probe.tcp_socket is not None:
        check_port(report, join_path(path, "tcpSocket.port"), probe.tcp_socket.port, required=True)
    if probe.exec is not None and not probe.exec.command:
        report.error(
            join_path(path, "exec.command"),
            "required field is missing (the command and its arguments)",
        )
    if probe.grpc is not None:
        check_port(report, join_path(path, "grpc.port"), probe.grpc.port, required=True)


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


__all__ = [
    "check_workload_entry",
    "validate_service_entry",
    "validate_workload_entry",
    "validate_workload_group",
]
