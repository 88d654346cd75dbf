"""One AuthorizationPolicy rule -> one Envoy RBAC policy.

In: a rule (``from``, ``to``, ``when``), the policy's namespace and action, and whether the
rule is built for an HTTP request or a TCP connection. Out: an ``envoy.config.rbac.v3.Policy``
whose principals are the ``from`` entries (ORed; in each, every source field and every
principal-side ``when`` condition ANDed) and whose permissions are the ``to`` entries (likewise
with the operation fields and permission-side conditions), or None when the rule is dropped.

A field lists values (any of them matches) and ``not`` values (none may match). A rule without
``from`` matches any source, without ``to`` any operation: ``rules: [{}]`` matches everything.

HTTP-only attributes on a TCP connection follow Istio exactly: in an ALLOW policy the whole
rule is dropped (the policy allows less), in DENY, AUDIT and CUSTOM policies only the HTTP-only
conditions are left out (the policy denies, audits or checks more).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from envoy.config.rbac.v3 import rbac_pb2
from envoy.config.rbac.v3.rbac_pb2 import Permission, Principal

from sailmesh.config.models.security import Rule
from sailmesh.xds.authz.attributes import (
    OPERATION_ATTRIBUTES,
    Attribute,
    source_attributes,
    when_attribute,
)


@dataclass(frozen=True)
class Condition:
    """An attribute and the values it must (not) have."""

    attribute: Attribute
    values: tuple[str, ...]
    not_values: tuple[str, ...]


class DroppedRule(Exception):
    """An ALLOW rule tests an HTTP-only attribute on a TCP connection: it matches nothing."""


#: A policy that matches no request (an ALLOW policy without rules: deny everything else).
def never_matches() -> rbac_pb2.Policy:
    return rbac_pb2.Policy(
        permissions=[Permission(not_rule=Permission(any=True))],
        principals=[Principal(not_id=Principal(any=True))],
    )


def _condition(attribute: Attribute | None, values: object, not_values: object) -> list[Condition]:
    found = tuple(values or ()) if isinstance(values, list) else ()
    negated = tuple(not_values or ()) if isinstance(not_values, list) else ()
    if attribute is None or not (found or negated):
        return []
    return [Condition(attribute, found, negated)]


def _when(rule: Rule, trust_domains: Sequence[str]) -> tuple[list[Condition], list[Condition]]:
    """The rule's ``when`` conditions, split into principal-side and permission-side."""
    principal_side: list[Condition] = []
    permission_side: list[Condition] = []
    for item in rule.when or ():
        attribute = when_attribute(item.key or "", trust_domains)
        for condition in _condition(attribute, item.values, item.not_values):
            side = principal_side if condition.attribute.side == "principal" else permission_side
            side.append(condition)
    return principal_side, permission_side


def _entry_sets(
    entries: Sequence[object] | None,
    field: str,
    attributes: Mapping[str, Attribute | None],
    base: list[Condition],
) -> list[list[Condition]]:
    """One AND-set of conditions per entry (each entry's ``field``: a source or an operation,
    whose fields and their ``not_`` forms ``attributes`` name), plus ``base``; one set when
    there is no entry."""
    if not entries:
        return [base]
    sets = []
    for entry in entries:
        conditions: list[Condition] = []
        value = getattr(entry, field)
        if value is not None:
            for name, attribute in attributes.items():
                conditions += _condition(
                    attribute, getattr(value, name), getattr(value, f"not_{name}")
                )
        sets.append(conditions + base)
    return sets


def principal_sets(
    rule: Rule, namespace: str, trust_domains: Sequence[str] = ()
) -> list[list[Condition]]:
    """One AND-set of conditions per ``from`` entry (one set when there is no ``from``)."""
    base, _ = _when(rule, trust_domains)
    attributes = source_attributes(namespace, trust_domains)
    return _entry_sets(rule.from_, "source", attributes, base)


def permission_sets(rule: Rule) -> list[list[Condition]]:
    """One AND-set of conditions per ``to`` entry (one set when there is no ``to``)."""
    _, base = _when(rule, ())
    return _entry_sets(rule.to, "operation", OPERATION_ATTRIBUTES, base)


def _usable(conditions: Sequence[Condition], for_tcp: bool, allow: bool) -> list[Condition]:
    if not for_tcp:
        return list(conditions)
    if allow and any(c.attribute.http_only for c in conditions):
        raise DroppedRule
    return [c for c in conditions if not c.attribute.http_only]


def _principal(conditions: Sequence[Condition]) -> Principal:
    ids: list[Principal] = []
    for c in conditions:
        build = c.attribute.principals
        assert build is not None
        if c.values:
            ids.append(_any_principal(build(c.values)))
        if c.not_values:
            ids.append(Principal(not_id=_any_principal(build(c.not_values))))
    return Principal(and_ids=Principal.Set(ids=ids or [Principal(any=True)]))


def _any_principal(found: list[Principal]) -> Principal:
    if not found:  # every value was unusable (validation reported it): match nothing
        return Principal(not_id=Principal(any=True))
    return Principal(or_ids=Principal.Set(ids=found))


def _permission(conditions: Sequence[Condition]) -> Permission:
    rules: list[Permission] = []
    for c in conditions:
        build = c.attribute.permissions
        assert build is not None
        if c.values:
            rules.append(_any_permission(build(c.values)))
        if c.not_values:
            rules.append(Permission(not_rule=_any_permission(build(c.not_values))))
    return Permission(and_rules=Permission.Set(rules=rules or [Permission(any=True)]))


def _any_permission(found: list[Permission]) -> Permission:
    if not found:
        return Permission(not_rule=Permission(any=True))
    return Permission(or_rules=Permission.Set(rules=found))


def rule_policy(
    rule: Rule,
    namespace: str,
    *,
    for_tcp: bool,
    allow: bool,
    trust_domains: Sequence[str] = (),
) -> rbac_pb2.Policy | None:
    """The RBAC policy of ``rule`` (None: an ALLOW rule dropped on a TCP connection);
    ``trust_domains``: the mesh's trust domain and its aliases, for peer principals."""
    try:
        principals = [
            _principal(_usable(s, for_tcp, allow))
            for s in principal_sets(rule, namespace, trust_domains)
        ]
        permissions = [_permission(_usable(s, for_tcp, allow)) for s in permission_sets(rule)]
    except DroppedRule:
        return None
    return rbac_pb2.Policy(permissions=permissions, principals=principals)
