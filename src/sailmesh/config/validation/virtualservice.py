"""VirtualService validation (istiod's webhook rules): hosts, gateways, HTTP/TLS/TCP routes."""

from __future__ import annotations

from sailmesh.config.diagnostics import Report, join_path
from sailmesh.config.models.virtualservice import (
    HTTPMatchRequest,
    HTTPRoute,
    L4MatchAttributes,
    TCPRoute,
    TLSMatchAttributes,
    TLSRoute,
    VirtualServiceSpec,
)
from sailmesh.config.resource import Resource
from sailmesh.config.validation.common import (
    check_deprecated_percent,
    check_duration,
    check_export_to,
    check_gateway_names,
    check_label_map,
    check_one_of,
    check_percentage,
    check_port,
    check_required,
    fields_given,
    is_ip,
    is_ip_or_cidr,
    wildcard_host_problem,
)
from sailmesh.config.validation.resilience import check_fault, check_retries
from sailmesh.config.validation.routing import (
    check_cors,
    check_destination,
    check_direct_response,
    check_header_operations,
    check_redirect,
    check_rewrite,
    check_string_match,
    check_string_match_map,
    check_weights,
)

SPEC = "spec"


def validate_virtual_service(resource: Resource, report: Report) -> None:
    spec: VirtualServiceSpec = resource.spec
    path = SPEC
    _check_hosts(report, spec)
    check_gateway_names(report, join_path(path, "gateways"), spec.gateways)
    if not (spec.http or spec.tls or spec.tcp):
        report.error(path, "a VirtualService needs at least one route: add http, tls or tcp")
    for i, route in enumerate(spec.http):
        _check_http_route(report, join_path(join_path(path, "http"), i), route)
    for i, tls in enumerate(spec.tls):
        _check_tls_route(report, join_path(join_path(path, "tls"), i), tls, spec.hosts)
    for i, tcp in enumerate(spec.tcp):
        _check_tcp_route(report, join_path(join_path(path, "tcp"), i), tcp)
    check_export_to(report, join_path(path, "exportTo"), spec.export_to)


def _check_hosts(report: Report, spec: VirtualServiceSpec) -> None:
    path = join_path(SPEC, "hosts")
    if not spec.hosts:
        _check_delegate_virtual_service(report, spec)
        return
    applies_to_mesh = not spec.gateways or "mesh" in spec.gateways
    seen: set[str] = set()
    for i, host in enumerate(spec.hosts):
        at = join_path(path, i)
        if host in seen:
            report.error(at, f"duplicate host {host!r}; remove it")
        seen.add(host)
        if host == "*":
            if applies_to_mesh:
                report.error(
                    at,
                    "wildcard host '*' is not allowed for virtual services bound to "
                    "the mesh (sidecars); list the hosts or bind to a gateway only",
                )
            continue
        if "/" in host:
            report.error(
                at, f"invalid host {host!r}: VirtualService hosts cannot have a namespace prefix"
            )
            continue
        problem = wildcard_host_problem(host)
        if problem and not is_ip(host):
            report.error(at, problem)


def _check_delegate_virtual_service(report: Report, spec: VirtualServiceSpec) -> None:
    """Istio treats a VirtualService without hosts as a delegate (only reachable via delegate)."""
    report.warn(
        join_path(SPEC, "hosts"),
        "no hosts: this VirtualService only takes effect as the "
        "delegate of another VirtualService's http route; add hosts (e.g. 'reviews') to "
        "route traffic with it directly",
    )
    for field, present, what in (
        ("gateways", spec.gateways, "gateways"),
        ("tls", spec.tls, "tls routes"),
        ("tcp", spec.tcp, "tcp routes"),
    ):
        if present:
            report.error(
                join_path(SPEC, field),
                f"a delegate VirtualService (one without hosts) "
                f"cannot have {what}; add hosts or remove {field}",
            )
    for i, route in enumerate(spec.http):
        if route.delegate is not None:
            report.error(
                join_path(join_path(join_path(SPEC, "http"), i), "delegate"),
                "a delegate VirtualService cannot delegate again (one level only)",
            )


def _check_http_route(report: Report, path: str, route: HTTPRoute) -> None:
    check_one_of(
        report,
        path,
        fields_given(
            ("route", bool(route.route)),
            ("redirect", route.redirect is not None),
            ("directResponse", route.direct_response is not None),
            ("delegate", route.delegate is not None),
        ),
        missing="an HTTP route needs one of route, redirect, directResponse or delegate",
        many="an HTTP route can have only one of route, redirect, directResponse or delegate",
        sep=" and ",
    )
    if route.redirect is not None:
        if route.rewrite is not None:
            report.error(
                join_path(path, "rewrite"),
                "an HTTP route cannot have both rewrite and redirect; remove one",
            )
        if route.fault is not None:
            report.error(
                join_path(path, "fault"),
                "an HTTP route cannot have both fault and redirect; remove one",
            )
        check_redirect(report, join_path(path, "redirect"), route.redirect)
    if route.direct_response is not None:
        check_direct_response(report, join_path(path, "directResponse"), route.direct_response)
    if route.delegate is not None:
        _check_delegate(report, path, route)
    for i, match in enumerate(route.match):
        _check_http_match(report, join_path(join_path(path, "match"), i), match)
    for i, dest in enumerate(route.route):
        at = join_path(join_path(path, "route"), i)
        check_destination(report, join_path(at, "destination"), dest.destination)
        check_header_operations(report, join_path(at, "headers"), dest.headers)
    check_weights(report, join_path(path, "route"), [d.weight for d in route.route])
    if route.rewrite is not None:
        check_rewrite(report, join_path(path, "rewrite"), route.rewrite)
    check_duration(report, join_path(path, "timeout"), route.timeout, allow_zero=True)
    check_retries(report, join_path(path, "retries"), route.retries)
    _check_retry_vs_timeout(report, path, route)
    check_fault(report, join_path(path, "fault"), route.fault)
    _check_mirrors(report, path, route)
    check_cors(report, join_path(path, "corsPolicy"), route.cors_policy)
    check_header_operations(report, join_path(path, "headers"), route.headers)


def _check_delegate(report: Report, path: str, route: HTTPRoute) -> None:
    delegate = route.delegate
    assert delegate is not None
    at = join_path(path, "delegate")
    if not delegate.name:
        report.error(
            join_path(at, "name"), "required field is missing (the delegate VirtualService's name)"
        )
    for field, value in (
        ("rewrite", route.rewrite),
        ("fault", route.fault),
        ("mirror", route.mirror),
        ("corsPolicy", route.cors_policy),
    ):
        if value is not None:
            report.warn(
                join_path(path, field),
                f"{field} is ignored on a delegating route; set it "
                "in the delegate VirtualService's routes",
            )


def _check_retry_vs_timeout(report: Report, path: str, route: HTTPRoute) -> None:
    retries, timeout = route.retries, route.timeout
    if retries is None or retries.per_try_timeout is None or timeout is None or not timeout.nanos:
        return
    if retries.per_try_timeout.nanos > timeout.nanos:
        report.warn(
            join_path(path, "retries.perTryTimeout"),
            f"perTryTimeout "
            f"{retries.per_try_timeout} is longer than the route timeout {timeout}, so "
            "no retry can happen; make it shorter",
        )


def _check_mirrors(report: Report, path: str, route: HTTPRoute) -> None:
    if route.mirror is not None:
        check_destination(report, join_path(path, "mirror"), route.mirror)
        if route.mirrors:
            report.error(
                join_path(path, "mirrors"),
                "only one of mirror or mirrors may be set; move mirror into mirrors",
            )
    elif route.mirror_percent is not None or route.mirror_percentage is not None:
        field = "mirrorPercentage" if route.mirror_percentage is not None else "mirrorPercent"
        report.warn(join_path(path, field), f"{field} has no effect without mirror")
    check_deprecated_percent(
        report, path, "mirrorPercent", "mirrorPercentage", route.mirror_percent
    )
    if route.mirror_percent is not None and route.mirror_percentage is not None:
        report.error(
            join_path(path, "mirrorPercent"),
            "only one of mirrorPercent or mirrorPercentage may be set; keep mirrorPercentage",
        )
    check_percentage(report, join_path(path, "mirrorPercentage"), route.mirror_percentage)
    for i, mirror in enumerate(route.mirrors):
        at = join_path(join_path(path, "mirrors"), i)
        check_destination(report, join_path(at, "destination"), mirror.destination)
        check_percentage(report, join_path(at, "percentage"), mirror.percentage)


def _check_http_match(report: Report, path: str, match: HTTPMatchRequest) -> None:
    for field in ("uri", "scheme", "method", "authority"):
        check_string_match(report, join_path(path, field), getattr(match, field), allow_empty=False)
    check_string_match_map(report, join_path(path, "headers"), match.headers, what="header")
    check_string_match_map(
        report, join_path(path, "withoutHeaders"), match.without_headers, what="header"
    )
    check_string_match_map(
        report, join_path(path, "queryParams"), match.query_params, what="query parameter"
    )
    check_port(report, join_path(path, "port"), match.port)
    check_label_map(report, join_path(path, "sourceLabels"), match.source_labels)
    check_gateway_names(report, join_path(path, "gateways"), match.gateways)


def _check_l4_match(
    report: Report, path: str, match: L4MatchAttributes | TLSMatchAttributes
) -> None:
    for i, subnet in enumerate(match.destination_subnets):
        if not is_ip_or_cidr(subnet):
            report.error(
                join_path(join_path(path, "destinationSubnets"), i),
                f"invalid subnet {subnet!r}: use an IP or CIDR such as '10.0.0.0/8'",
            )
    check_port(report, join_path(path, "port"), match.port)
    check_label_map(report, join_path(path, "sourceLabels"), match.source_labels)
    check_gateway_names(report, join_path(path, "gateways"), match.gateways)


def _check_l4_routes(report: Report, path: str, route: TLSRoute | TCPRoute) -> None:
    if not route.route:
        report.error(
            join_path(path, "route"), "required field is missing: add at least one destination"
        )
    for i, dest in enumerate(route.route):
        check_destination(
            report,
            join_path(join_path(join_path(path, "route"), i), "destination"),
            dest.destination,
        )
    check_weights(report, join_path(path, "route"), [d.weight for d in route.route])


def _check_tls_route(report: Report, path: str, route: TLSRoute, hosts: list[str]) -> None:
    if not route.match:
        report.error(join_path(path, "match"), "a TLS route needs at least one match with sniHosts")
    for i, match in enumerate(route.match):
        at = join_path(join_path(path, "match"), i)
        _check_l4_match(report, at, match)
        check_required(
            report,
            join_path(at, "sniHosts"),
            match.sni_hosts,
            "list the SNI hosts to match (they must be covered by the VirtualService hosts)",
        )
        for j, sni in enumerate(match.sni_hosts):
            _check_sni_host(report, join_path(join_path(at, "sniHosts"), j), sni, hosts)
    _check_l4_routes(report, path, route)


def _check_sni_host(report: Report, path: str, sni: str, hosts: list[str]) -> None:
    problem = wildcard_host_problem(sni)
    if problem and not is_ip(sni):
        report.error(path, problem)
        return
    if not any(_host_covers(host, sni) for host in hosts):
        report.error(
            path,
            f"the SNI host {sni!r} is not covered by the VirtualService hosts "
            f"({', '.join(hosts) or 'none'}); add it to hosts or fix the name",
        )


def _host_covers(host: str, sni: str) -> bool:
    """Istio's ``host.Name.SubsetOf``: ``sni`` is within ``host`` (wildcards included)."""
    if host == "*" or host == sni:
        return True
    if host.startswith("*"):
        suffix = host[1:]
        if sni.startswith("*"):
            return sni[1:].endswith(suffix)
        return sni.endswith(suffix)
    return False


def _check_tcp_route(report: Report, path: str, route: TCPRoute) -> None:
    for i, match in enumerate(route.match):
        at = join_path(join_path(path, "match"), i)
        _check_l4_match(report, at, match)
        if match.source_subnet is not None and not is_ip_or_cidr(match.source_subnet):
            report.error(
                join_path(at, "sourceSubnet"),
                f"invalid subnet {match.source_subnet!r}: use an IP or CIDR such as '10.0.0.0/8'",
            )
    _check_l4_routes(report, path, route)


__all__ = ["validate_virtual_service"]
