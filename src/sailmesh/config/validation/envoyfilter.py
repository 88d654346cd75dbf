"""EnvoyFilter and ProxyConfig validation: patch shapes (applyTo, match and operation agree),
selectors, proxy settings.
"""

from __future__ import annotations

from sailmesh.config.diagnostics import Report, join_path
from sailmesh.config.models.envoyfilter import (
    EnvoyConfigObjectMatch,
    EnvoyConfigObjectPatch,
    EnvoyFilterSpec,
    ProxyConfigSpec,
)
from sailmesh.config.resource import Resource
from sailmesh.config.validation.common import (
    check_port,
    check_regex,
    check_workload_labels,
    check_workload_selector,
    fields_set,
)
from sailmesh.config.validation.envoy_values import value_problem
from sailmesh.config.validation.kubernetes.names import env_name_problem, map_path
from sailmesh.config.validation.security.common import check_target_namespace

SPEC = "spec"
HCM = "envoy.filters.network.http_connection_manager"
_LISTENER_CLASS = {"LISTENER", "FILTER_CHAIN", "NETWORK_FILTER", "HTTP_FILTER", "LISTENER_FILTER"}
_ROUTE_CLASS = {"ROUTE_CONFIGURATION", "VIRTUAL_HOST", "HTTP_ROUTE"}
_ORDERED = {"HTTP_FILTER", "NETWORK_FILTER", "LISTENER_FILTER", "HTTP_ROUTE"}
_REPLACEABLE = {"HTTP_FILTER", "NETWORK_FILTER", "LISTENER_FILTER"}
IMAGE_TYPES = ("default", "debug", "distroless")


def validate_envoy_filter(resource: Resource, report: Report) -> None:
    spec: EnvoyFilterSpec = resource.spec
    check_workload_selector(report, spec.workload_selector, kind="EnvoyFilter")
    if spec.workload_selector is not None and spec.target_refs:
        report.error(
            join_path(SPEC, "targetRefs"),
            "only one of workloadSelector or targetRefs may be set",
        )
    _check_target_refs(report, spec)
    if not spec.config_patches:
        report.warn(
            join_path(SPEC, "configPatches"), "no configPatches: this EnvoyFilter does nothing"
        )
    for i, patch in enumerate(spec.config_patches):
        _check_patch(report, join_path(join_path(SPEC, "configPatches"), i), patch)


def _check_target_refs(report: Report, spec: EnvoyFilterSpec) -> None:
    for i, ref in enumerate(spec.target_refs):
        at = join_path(join_path(SPEC, "targetRefs"), i)
        if not ref.kind:
            report.error(join_path(at, "kind"), "required field is missing (e.g. 'Gateway')")
        if not ref.name:
            report.error(join_path(at, "name"), "required field is missing")
        check_target_namespace(report, at, ref.namespace)


def _check_patch(report: Report, path: str, cp: EnvoyConfigObjectPatch) -> None:
    """One configPatch: applyTo, the patch operation it allows, then the match."""
    if cp.apply_to in (None, "INVALID"):
        report.error(
            join_path(path, "applyTo"),
            "required field is missing (e.g. HTTP_FILTER, CLUSTER, LISTENER)",
        )
    _check_patch_operation(report, join_path(path, "patch"), cp)
    _check_patch_value(report, join_path(path, "patch.value"), cp)
    if cp.apply_to == "BOOTSTRAP":
        _check_bootstrap(report, path, cp)
    if cp.match is not None:
        _check_match(report, join_path(path, "match"), cp.match, cp)


def _check_patch_value(report: Report, path: str, cp: EnvoyConfigObjectPatch) -> None:
    """The value must be valid Envoy configuration for the patched type (field names, types,
    ``@type`` of every typed config), as Istio's validation checks: Envoy would refuse it."""
    value = cp.patch.value if cp.patch is not None else None
    if not cp.apply_to or not isinstance(value, dict):
        return
    problem = value_problem(cp.apply_to, value)
    if problem:
        report.error(path, f"{problem} (Envoy would refuse this {cp.apply_to} patch)")


def _check_bootstrap(report: Report, path: str, cp: EnvoyConfigObjectPatch) -> None:
    """Envoy reads its bootstrap once: say so (Istio's agent also applies these at start)."""
    operation = cp.patch.operation if cp.patch else None
    if operation not in (None, "INVALID", "MERGE"):
        report.error(
            join_path(path, "patch.operation"), f"BOOTSTRAP patches only MERGE, not {operation}"
        )
        return
    report.warn(
        join_path(path, "applyTo"),
        "BOOTSTRAP patches apply when a proxy starts (Envoy reads its bootstrap once): "
        "proxies already running keep theirs until restarted (e.g. sailctl down, then up)",
    )


def _check_patch_operation(report: Report, patch_path: str, cp: EnvoyConfigObjectPatch) -> None:
    apply_to = cp.apply_to
    operation = cp.patch.operation if cp.patch else None
    if cp.patch is None:
        report.error(patch_path, "required field is missing (operation and value)")
    elif operation in (None, "INVALID"):
        report.error(
            join_path(patch_path, "operation"),
            "required field is missing (e.g. MERGE, ADD, INSERT_BEFORE, REMOVE)",
        )
    elif operation != "REMOVE" and cp.patch.value is None:
        report.error(join_path(patch_path, "value"), f"operation {operation} needs a value")
    if (
        operation in ("INSERT_BEFORE", "INSERT_AFTER", "INSERT_FIRST")
        and apply_to
        and apply_to not in _ORDERED
    ):
        report.error(
            join_path(patch_path, "operation"),
            f"{operation} only applies to ordered "
            f"lists (HTTP_FILTER, NETWORK_FILTER, LISTENER_FILTER, HTTP_ROUTE), not "
            f"{apply_to}; use ADD or MERGE",
        )
    if operation == "REPLACE" and apply_to and apply_to not in _REPLACEABLE:
        report.error(
            join_path(patch_path, "operation"),
            f"REPLACE only applies to HTTP_FILTER, "
            f"NETWORK_FILTER or LISTENER_FILTER, not {apply_to}",
        )
    if (
        cp.patch is not None
        and cp.patch.filter_class not in (None, "UNSPECIFIED")
        and apply_to != "HTTP_FILTER"
    ):
        report.warn(
            join_path(patch_path, "filterClass"), "filterClass only applies to HTTP_FILTER patches"
        )


def _check_match(
    report: Report, match_path: str, match: EnvoyConfigObjectMatch, cp: EnvoyConfigObjectPatch
) -> None:
    if match.proxy is not None:
        check_regex(report, join_path(match_path, "proxy.proxyVersion"), match.proxy.proxy_version)
    _check_matched_object(report, match_path, match, cp.apply_to)
    _check_listener_match(report, match_path, cp)
    if match.cluster is not None:
        check_port(report, join_path(match_path, "cluster.portNumber"), match.cluster.port_number)
    if match.route_configuration is not None:
        check_port(
            report,
            join_path(match_path, "routeConfiguration.portNumber"),
            match.route_configuration.port_number,
        )


def _matched_object_for(apply_to: str | None) -> str | None:
    """The match object (listener, routeConfiguration, cluster) an ``applyTo`` patches."""
    if apply_to in _LISTENER_CLASS:
        return "listener"
    if apply_to in _ROUTE_CLASS:
        return "routeConfiguration"
    if apply_to == "CLUSTER":
        return "cluster"
    return None


def _check_matched_object(
    report: Report, match_path: str, match: EnvoyConfigObjectMatch, apply_to: str | None
) -> None:
    """At most one of listener, routeConfiguration, cluster, waypoint; the one applyTo needs."""
    objects = fields_set(
        ("listener", match.listener),
        ("routeConfiguration", match.route_configuration),
        ("cluster", match.cluster),
        ("waypoint", match.waypoint),
    )
    if len(objects) > 1:
        report.error(
            match_path,
            f"only one of listener, routeConfiguration, cluster or "
            f"waypoint may be set (got {', '.join(objects)})",
        )
    if not objects or match.waypoint is not None:
        return
    expected = _matched_object_for(apply_to)
    if expected is not None and objects[0] != expected:
        report.error(
            join_path(match_path, objects[0]),
            f"applyTo {apply_to} needs a {expected} match, not {objects[0]}",
        )


def _check_listener_match(report: Report, match_path: str, cp: EnvoyConfigObjectPatch) -> None:
    listener = cp.match.listener if cp.match else None
    if listener is None:
        return
    at = join_path(match_path, "listener")
    check_port(report, join_path(at, "portNumber"), listener.port_number)
    if listener.port_name is not None:
        report.warn(
            join_path(at, "portName"),
            "portName is not implemented for listener matches; use portNumber",
        )
    chain = listener.filter_chain
    if chain is None or chain.filter is None:
        return
    fpath = join_path(at, "filterChain.filter")
    if cp.apply_to in ("LISTENER", "FILTER_CHAIN"):
        report.warn(fpath, f"a filter match has no effect with applyTo {cp.apply_to}")
    if not chain.filter.name:
        report.error(
            join_path(fpath, "name"),
            f"required field is missing (the network filter name, e.g. {HCM})",
        )
    elif chain.filter.sub_filter is not None and chain.filter.name != HCM:
        report.error(join_path(fpath, "subFilter"), f"subFilter matches need filter name {HCM}")


def validate_proxy_config(resource: Resource, report: Report) -> None:
    spec: ProxyConfigSpec = resource.spec
    if spec.selector is not None:
        check_workload_labels(
            report,
            join_path(SPEC, "selector.matchLabels"),
            spec.selector.match_labels,
            kind="ProxyConfig",
        )
    if spec.concurrency is not None and spec.concurrency < 0:
        report.error(
            join_path(SPEC, "concurrency"),
            "concurrency must not be negative (0 means one worker per CPU core)",
        )
    for name in spec.environment_variables:
        problem = env_name_problem(name)
        if problem:
            report.error(map_path(join_path(SPEC, "environmentVariables"), name), problem)
    if spec.image is not None and spec.image.image_type not in (None, *IMAGE_TYPES):
        report.error(
            join_path(SPEC, "image.imageType"),
            f"unknown image type {spec.image.image_type!r}: use default, debug or distroless",
        )


__all__ = ["validate_envoy_filter", "validate_proxy_config"]
