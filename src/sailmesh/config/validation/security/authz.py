"""AuthorizationPolicy validation: action/provider, targets, and every rule's sources,
operations and conditions, with Istio's rules for match values, IP blocks, ports and
condition attributes.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from sailmesh.config.diagnostics import Report, join_path
from sailmesh.config.models.security import (
    AuthorizationPolicySpec,
    Condition,
    Operation,
    Rule,
    Source,
)
from sailmesh.config.resource import Resource
from sailmesh.config.validation.security.common import (
    check_ips,
    check_match_values,
    check_policy_head,
    check_ports,
    star_problem,
)

# Condition keys Istio accepts (https://istio.io/latest/docs/reference/config/security/conditions/).
PLAIN_ATTRIBUTES = (
    "source.ip",
    "remote.ip",
    "source.namespace",
    "source.principal",
    "request.auth.principal",
    "request.auth.audiences",
    "request.auth.presenter",
    "destination.ip",
    "destination.port",
    "connection.sni",
)
MAP_ATTRIBUTES = ("request.headers[", "request.auth.claims[", "experimental.envoy.filters.")
IP_ATTRIBUTES = ("source.ip", "remote.ip", "destination.ip")
_SERVICE_ACCOUNT = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
MAX_SERVICE_ACCOUNTS = 16


def validate_authorization_policy(resource: Resource, report: Report) -> None:
    spec: AuthorizationPolicySpec = resource.spec
    check_policy_head(report, resource)
    if spec.provider is not None and spec.action != "CUSTOM":
        report.error(
            "spec.provider",
            f"`provider` is only used with `action: CUSTOM` (action "
            f"is {spec.action}); set `action: CUSTOM` or remove `provider`",
        )
    if spec.action == "CUSTOM":
        if spec.provider is None:
            report.error(
                "spec.provider",
                "`action: CUSTOM` requires `provider.name`: the name "
                "of an extension provider declared in MeshConfig extensionProviders",
            )
        elif not spec.provider.name:
            report.error(
                "spec.provider.name",
                "required field is missing: name the extension "
                "provider (declared in MeshConfig extensionProviders) to call",
            )
        if not spec.rules:
            report.error(
                "spec.rules",
                "a CUSTOM policy without rules never triggers; add "
                "`rules: [{}]` to send every request to the provider",
            )
    for i, rule in enumerate(spec.rules or ()):
        _check_rule(report, f"spec.rules[{i}]", rule, spec.action)


def _check_rule(report: Report, path: str, rule: Rule, action: str) -> None:
    if rule.from_ is not None:
        sources = [item.source for item in rule.from_]
        _check_entries(report, path, "from", "source", sources, "any source")
        for i, source in enumerate(sources):
            if source is not None:
                _check_source(report, f"{path}.from[{i}].source", source, action)
    if rule.to is not None:
        operations = [target.operation for target in rule.to]
        _check_entries(report, path, "to", "operation", operations, "any operation")
        for i, operation in enumerate(operations):
            if operation is not None:
                _check_operation(report, f"{path}.to[{i}].operation", operation)
    if rule.when is not None:
        if not rule.when:
            report.error(
                join_path(path, "when"),
                "`when` must not be empty: remove it, or list at least one condition",
            )
        for i, condition in enumerate(rule.when):
            _check_condition(report, f"{path}.when[{i}]", condition, action)


def _check_entries(
    report: Report, path: str, field: str, key: str, entries: Sequence[object], any_: str
) -> None:
    """``from``/``to``: not empty (an empty list matches nothing, never what was meant), and
    each entry holds its ``source``/``operation``."""
    if not entries:
        report.error(
            join_path(path, field),
            f"`{field}` must not be empty: remove it to match {any_}, or list at least one `{key}`",
        )
    for i, entry in enumerate(entries):
        if entry is None:
            article = "an" if key[0] in "aeiou" else "a"
            report.error(f"{path}.{field}[{i}]", f"each `{field}` entry needs {article} `{key}`")


def _is_empty(model: Source | Operation) -> bool:
    return not any(getattr(model, name) for name in type(model).model_fields)


def _check_source(report: Report, path: str, src: Source, action: str) -> None:
    if _is_empty(src):
        report.error(
            path,
            "`source` must set at least one field (principals, namespaces, "
            "ipBlocks, requestPrincipals, ...); remove the entry to match any source",
        )
        return
    for name in ("principals", "not_principals"):
        values = getattr(src, name)
        check_match_values(report, join_path(path, _alias(name)), values)
        _check_spiffe(report, join_path(path, _alias(name)), values)
    for name in (
        "request_principals",
        "not_request_principals",
        "namespaces",
        "not_namespaces",
        "trust_domains",
        "not_trust_domains",
    ):
        check_match_values(report, join_path(path, _alias(name)), getattr(src, name))
    for name in ("ip_blocks", "not_ip_blocks", "remote_ip_blocks", "not_remote_ip_blocks"):
        check_ips(report, join_path(path, _alias(name)), getattr(src, name))
    _check_service_accounts(report, path, src)
    if action == "CUSTOM" and (src.request_principals or src.not_request_principals):
        report.warn(
            join_path(path, "requestPrincipals"),
            "the CUSTOM action runs before JWT "
            "authentication results are available to it; request principals may not be "
            "matched as expected",
        )


def _check_service_accounts(report: Report, path: str, src: Source) -> None:
    for name in ("service_accounts", "not_service_accounts"):
        values: list[str] | None = getattr(src, name)
        at = join_path(path, _alias(name))
        if values is None:
            continue
        if len(values) > MAX_SERVICE_ACCOUNTS:
            report.error(
                at,
                f"at most {MAX_SERVICE_ACCOUNTS} service accounts are allowed; use "
                "`namespaces` or `principals` for broader matches",
            )
        for i, value in enumerate(values):
            if "*" in value:
                report.error(
                    join_path(at, i),
                    f"wildcards are not supported in {_alias(name)} "
                    f"({value!r}); use `principals` for prefix/suffix matches",
                )
            elif len(value) > 320 or not _SERVICE_ACCOUNT.match(value):
                report.error(
                    join_path(at, i),
                    f"invalid service account {value!r}: use "
                    "'<namespace>/<service-account>', e.g. 'default/sleep'",
                )
    if (src.service_accounts or src.not_service_accounts) and (
        src.principals or src.not_principals or src.namespaces or src.not_namespaces
    ):
        report.error(
            join_path(path, "serviceAccounts" if src.service_accounts else "notServiceAccounts"),
            "`serviceAccounts`/`notServiceAccounts` cannot be combined with "
            "`principals` or `namespaces` in the same source; use separate sources",
        )


def _check_spiffe(report: Report, path: str, values: Sequence[str] | None) -> None:
    for i, value in enumerate(values or ()):
        if value.startswith("spiffe://"):
            report.warn(
                join_path(path, i),
                f"principals are written without the 'spiffe://' "
                f"prefix (Istio adds it), so {value!r} never matches; use "
                f"{value.removeprefix('spiffe://')!r}",
            )


def _check_operation(report: Report, path: str, op: Operation) -> None:
    if _is_empty(op):
        report.error(
            path,
            "`operation` must set at least one field (hosts, ports, methods, "
            "paths, ...); remove the entry to match any operation",
        )
        return
    for name in ("hosts", "not_hosts"):
        check_match_values(report, join_path(path, _alias(name)), getattr(op, name))
    for name in ("ports", "not_ports"):
        check_ports(report, join_path(path, _alias(name)), getattr(op, name))
    for name in ("methods", "not_methods"):
        values: list[str] | None = getattr(op, name)
        at = join_path(path, _alias(name))
        check_match_values(report, at, values)
        for i, method in enumerate(values or ()):
            if method != method.upper():
                report.warn(
                    join_path(at, i),
                    f"HTTP methods are matched case-sensitively; "
                    f"write {method.upper()!r} instead of {method!r}",
                )
    for name in ("paths", "not_paths"):
        at = join_path(path, _alias(name))
        for i, value in enumerate(getattr(op, name) or ()):
            _check_path(report, join_path(at, i), value)


def _check_path(report: Report, path: str, value: str) -> None:
    if "{" in value or "}" in value:
        problem = _template_problem(value)
        if problem:
            report.error(path, problem)
        return
    problem = star_problem(value)
    if problem:
        report.error(path, problem)
    elif not value.startswith(("/", "*")):
        report.warn(
            path,
            f"path {value!r} does not start with '/' and never matches a request "
            f"path; did you mean '/{value}'?",
        )


def _template_problem(value: str) -> str | None:
    """Path templates (Istio 1.22+): whole segments ``{*}`` (one) or ``{**}`` (the rest)."""
    if not value.startswith("/"):
        return f"path template {value!r} must start with '/'"
    segments = value.split("/")
    for index, segment in enumerate(segments):
        if "{" in segment or "}" in segment:
            if segment not in ("{*}", "{**}"):
                return (
                    f"invalid path template {value!r}: a segment may only be '{{*}}' (one "
                    f"segment) or '{{**}}' (any remaining segments), found {segment!r}"
                )
            if segment == "{**}" and index != len(segments) - 1:
                return f"invalid path template {value!r}: '{{**}}' must be the last segment"
        elif "*" in segment:
            return (
                f"invalid path {value!r}: '*' cannot be combined with path templates; use "
                "'{*}' or '{**}'"
            )
    return None


def _check_condition(report: Report, path: str, condition: Condition, action: str) -> None:
    key = condition.key or ""
    if not key:
        report.error(
            join_path(path, "key"),
            "required field is missing: the Istio attribute to "
            "test, e.g. 'request.headers[x-user]' or 'source.ip'",
        )
    else:
        problem = attribute_problem(key)
        if problem:
            report.error(join_path(path, "key"), problem)
    if not condition.values and not condition.not_values:
        report.error(
            path,
            f"condition on {key or 'this key'} needs `values` or `notValues` "
            "(use values: ['*'] to require that the attribute is present)",
        )
    for field in ("values", "not_values"):
        values: list[str] | None = getattr(condition, field)
        at = join_path(path, _alias(field))
        if key in IP_ATTRIBUTES:
            check_ips(report, at, values)
        elif key == "destination.port":
            check_ports(report, at, values)
        else:
            check_match_values(report, at, values)
            if key == "source.principal":
                _check_spiffe(report, at, values)
    if action == "CUSTOM" and key.startswith("request.auth."):
        report.warn(
            join_path(path, "key"),
            "the CUSTOM action runs before JWT authentication "
            "results are available to it; request.auth.* conditions may not match",
        )


def attribute_problem(key: str) -> str | None:
    """Why ``key`` is not an attribute Istio accepts in ``when``, or None."""
    if key in PLAIN_ATTRIBUTES:
        return None
    for prefix in MAP_ATTRIBUTES:
        if key.startswith(prefix):
            open_at = key.find("[")
            if key.endswith("]") and 0 < open_at < len(key) - 2:
                return None
            return (
                f"bad key {key!r}: should have the form {prefix.rstrip('[')}[name], e.g. "
                f"'{prefix.rstrip('[')}[x-user-id]'"
            )
    known = [
        *PLAIN_ATTRIBUTES,
        "request.headers[...]",
        "request.auth.claims[...]",
        "experimental.envoy.filters.*[...]",
    ]
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.7)
    hint = f"; did you mean {close[0]!r}?" if close else f"; supported: {', '.join(known)}"
    return f"unknown attribute {key!r}{hint}"


def _alias(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(p[:1].upper() + p[1:] for p in rest)


__all__ = ["attribute_problem", "validate_authorization_policy"]
