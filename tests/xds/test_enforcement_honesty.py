"""The not-enforced table is honest: listed fields change no Envoy output, the others do.

For every leaf field of the typed models of the enforced kinds (VirtualService,
DestinationRule, Gateway, ServiceEntry, Sidecar, PeerAuthentication, Telemetry,
AuthorizationPolicy, RequestAuthentication), a valid document sets it to a non-default value
(validation decides what is valid) and is translated with the real translator for a sidecar
and a gateway, next to the same document without it:

- a field the table lists (:mod:`sailmesh.config.enforcement`, found by the real finder)
  must leave every Envoy resource byte-identical: it really has no effect;
- any other field must change the output, unless :data:`NO_VISIBLE_EFFECT` says why not.

So a field cannot be ignored without being listed, and an entry cannot stay listed once the
field is implemented (remove the entry then).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
from honesty_world import (
    BASES,
    GATEWAY,
    SPECS,
    candidates,
    concrete,
    context,
    depth,
    leaves,
    listed,
    load,
    translate,
    with_value,
    without,
)

from sailmesh.config.enforcement import NOT_ENFORCED, NotEnforced
from sailmesh.config.resource import Resource
from sailmesh.config.unenforced import find_unenforced, split_pattern

#: Fields that are legitimately inert (in Istio too) although validation accepts them, and why.
NO_VISIBLE_EFFECT: dict[tuple[str, str], str] = {
    ("Gateway", "spec.servers[*].port.name"): "a label of the server port; Istio names "
    "nothing after it for HTTP servers (route configs are http.<number>)",
    ("Gateway", "spec.servers[*].port.targetPort"): "deprecated; Istio ignores it on Gateway "
    "servers (the gateway listens on the server port)",
    ("Gateway", "spec.servers[*].tls.insecureSkipVerify"): "a client setting "
    "(DestinationRule); a server has no peer certificate to skip verifying",
    ("ServiceEntry", "spec.ports[*].name"): "a label of the port (endpoints refer to it by "
    "name, so renaming both changes nothing; clusters are named by number)",
    ("Sidecar", "spec.ingress[*].tls.insecureSkipVerify"): "a client setting, as on Gateway "
    "servers",
    ("Sidecar", "spec.ingress[*].tls.httpsRedirect"): "validation rejects true on sidecar "
    "ingress; false is the default",
    ("Sidecar", "spec.egress[*].port.name"): "a label of the listener port; Istio names "
    "egress listeners and their route configs by bind and number",
    ("Sidecar", "spec.egress[*].port.targetPort"): "no meaning on an egress listener (the "
    "app connects to the listener port; Istio reads only number, protocol and name)",
    ("Sidecar", "spec.ingress[*].port.targetPort"): "Istio has no targetPort on ingress "
    "listeners: the listener port is the target port",
    ("Sidecar", "spec.inboundConnectionPool.http.h2UpgradePolicy"): "Istio applies h2 upgrade "
    "to outbound clusters only (applyTrafficPolicy skips it for inbound ones)",
    ("Sidecar", "spec.inboundConnectionPool.http.useClientProtocol"): "Istio applies it to "
    "outbound clusters only",
    ("Sidecar", "spec.ingress[*].connectionPool.http.h2UpgradePolicy"): "as "
    "inboundConnectionPool.http.h2UpgradePolicy",
    ("Sidecar", "spec.ingress[*].connectionPool.http.useClientProtocol"): "as "
    "inboundConnectionPool.http.useClientProtocol",
    ("AuthorizationPolicy", "spec.targetRef.group"): "validation admits one group per target "
    "kind (the core group has two spellings), so the group selects nothing the kind does not",
    ("AuthorizationPolicy", "spec.targetRefs[*].group"): "as spec.targetRef.group",
    ("Telemetry", "spec.targetRef.group"): "as AuthorizationPolicy's spec.targetRef.group",
    ("Telemetry", "spec.targetRefs[*].group"): "as AuthorizationPolicy's spec.targetRef.group",
}
#: Fields validation rejects whatever their value (so they are not "accepted"), and why.
NOT_SETTABLE: dict[tuple[str, str], str] = {
    ("VirtualService", "spec.http[*].fault.delay.exponentialDelay"): "rejected: not supported",
    ("VirtualService", "spec.http[*].fault.abort.http2Error"): "rejected: not supported",
    **{
        (kind, f"spec.{field}.namespace"): "rejected, as Istio's CRD rule: cross namespace "
        "referencing is not currently supported"
        for kind in ("AuthorizationPolicy", "RequestAuthentication", "Telemetry")
        for field in ("targetRef", "targetRefs[*]")
    },
    ("EnvoyFilter", "spec.targetRefs[*].namespace"): "rejected, as Istio's CRD rule",
}
#: Fields whose "no effect" is shown by a scenario of their own below.
SCENARIOS: dict[tuple[str, str], str] = {
    ("Telemetry", "spec.accessLogging[*].filter.expression"): (
        "test_filters_the_proxy_cannot_evaluate_log_everything"
    ),
    ("Telemetry", "spec.metrics[*].overrides[*].match.customMetric"): (
        "test_custom_metric_overrides_change_nothing"
    ),
    **{
        (kind, f"spec.{field}.kind"): "test_waypoint_targets_bind_no_proxy"
        for kind in ("AuthorizationPolicy", "Telemetry")
        for field in ("targetRef", "targetRefs[*]")
    },
    # validation ties a target's group to its kind: no other valid value for either alone
    ("RequestAuthentication", "spec.targetRef.group"): "test_a_target_refs_group_is_read",
    ("RequestAuthentication", "spec.targetRefs[*].group"): "test_a_target_refs_group_is_read",
    ("RequestAuthentication", "spec.targetRef.kind"): "test_waypoint_targets_attach_nowhere",
    ("RequestAuthentication", "spec.targetRefs[*].kind"): "test_waypoint_targets_attach_nowhere",
    ("EnvoyFilter", "spec.priority"): "test_envoy_filter_priority_orders_patches",
    # validation admits only valid Envoy config there, which generic candidates are not
    ("EnvoyFilter", "spec.configPatches[*].patch.value"): "test_envoy_filter_patch_values_apply",
    ("EnvoyFilter", "spec.targetRefs[*].kind"): "test_envoy_filter_target_kinds",
}
#: Entries under a leaf (map keys), or above leaves, that a scenario test of their own shows.
ENTRY_SCENARIOS: dict[tuple[str, str], str] = {
    ("Telemetry", "spec.metrics[*].overrides[*].tagOverrides.*"): (
        "test_tag_values_the_proxy_cannot_compute_set_nothing"
    ),
    # not inert (fail closed: the issuer's tokens are refused) but the user's intent, OpenID
    # discovery of the keys, is not carried out
    ("RequestAuthentication", "spec.jwtRules[*]"): "test_rules_without_keys_refuse_tokens",
}

#: Every leaf of the enforced kinds, except those a scenario test of their own covers.
LEAVES = [
    (kind, *leaf)
    for kind, spec in SPECS.items()
    for leaf in leaves(spec)
    if (kind, leaf[0]) not in SCENARIOS
]
LEAF_IDS = [f"{leaf[0]}:{leaf[1]}" for leaf in LEAVES]
#: Valid documents tried per leaf (at most :data:`PER_BASE` per base document): an enforced
#: field must change the output in one of them, a listed one in none.
TRIES = 4
PER_BASE = 2


@cache
def _output(kind: str, spec_key: str) -> Any:
    import json

    resource = load(kind, json.loads(spec_key))
    assert resource is not None
    return translate([*context(kind), resource])


def output(kind: str, spec: dict[str, Any]) -> Any:
    import json

    return _output(kind, json.dumps(spec, sort_keys=True))


#: (the base when it sets the leaf to another value, else the document without the leaf;
#: the document without the leaf (the base when that is not valid); with it; its resource)
Trial = tuple[dict[str, Any], dict[str, Any], dict[str, Any], Resource]


@cache
def trials(kind: str, pattern: str) -> list[Trial]:
    """Up to :data:`TRIES` (base, document without the leaf, with it, its resource) that
    validation accepts; the one without it is the base when removing the leaf is not valid."""
    (name, ann, default) = next(leaf[2:] for leaf in LEAVES if leaf[:2] == (kind, pattern))
    found: list[Trial] = []
    for alone in (False, True):
        # The bases that already hold most of the leaf's path first: they give it a context.
        for base in sorted(BASES[kind], key=lambda b: -depth(b, pattern)):
            taken = 0
            for value in candidates(name, ann, default):
                spec = with_value(base, pattern, value, alone)
                resource = load(kind, spec)
                if spec == base or resource is None or taken == PER_BASE:
                    continue
                taken += 1
                stripped = without(spec, pattern)
                stripped = stripped if load(kind, stripped) else base
                # A leaf the base already sets is also compared with the base's value of it.
                replaced = not alone and depth(base, pattern) == len(split_pattern(pattern))
                found.append((base if replaced else stripped, stripped, spec, resource))
                if len(found) == TRIES:
                    return found
        if found:
            return found
    return found


def test_every_scenario_leaf_has_its_scenario_test() -> None:
    every = {(kind, leaf[0]) for kind, spec in SPECS.items() for leaf in leaves(spec)}
    assert set(SCENARIOS) <= every
    scenarios = [*SCENARIOS.values(), *ENTRY_SCENARIOS.values()]
    assert all(callable(globals().get(name)) for name in scenarios)


def test_bases_are_valid() -> None:
    for kind, bases in BASES.items():
        for base in bases:
            assert load(kind, base) is not None, (kind, base)


@pytest.mark.parametrize(("kind", "pattern", "name", "ann", "default"), LEAVES, ids=LEAF_IDS)
def test_leaf_is_enforced_or_listed(
    kind: str, pattern: str, name: str, ann: Any, default: Any
) -> None:
    if (kind, pattern) in NOT_SETTABLE:
        assert not trials(kind, pattern), f"{kind} {pattern} is accepted now: test it"
        return
    found = trials(kind, pattern)
    assert found, f"{kind} {pattern}: no valid value among the candidates; add one"
    path = concrete(pattern)
    changed, listed_somewhere = False, False
    for base, stripped, spec, resource in found:
        result = output(kind, spec)
        if listed(resource, path):
            listed_somewhere = True
            assert result == output(kind, stripped), (
                f"{kind} {path} is listed as not enforced but changes the Envoy output"
            )
        else:
            changed |= result != output(kind, stripped) or result != output(kind, base)
    if listed_somewhere or (kind, pattern) in NO_VISIBLE_EFFECT:
        return
    assert changed, f"{kind} {path} has no effect on the Envoy output: list it in the table"


def test_every_server_tls_mode_changes_the_gateway() -> None:
    """Every server TLS mode is enforced (none reported): AUTO_PASSTHROUGH adds SNI chains to
    the mesh's services, the terminating modes each their own TLS context."""
    plain = {"selector": {"istio": "ingressgateway"}, "servers": [GATEWAY["servers"][0]]}
    server = {"port": {"number": 15443, "name": "tls", "protocol": "TLS"}, "hosts": ["*"],
              "tls": {"mode": "AUTO_PASSTHROUGH"}}  # fmt: skip
    more = {**plain, "servers": [*plain["servers"], server]}
    resource = load("Gateway", more)
    assert resource is not None
    assert not find_unenforced(resource)
    assert output("Gateway", more) != output("Gateway", plain)
    https = {"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": ["*"]}
    outputs = []
    for mode in ("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL", "ISTIO_MUTUAL"):
        tls = {"mode": mode} if mode == "ISTIO_MUTUAL" else {"mode": mode, "credentialName": "c"}
        spec = {**plain, "servers": [*plain["servers"], {**https, "tls": tls}]}
        assert not find_unenforced(load("Gateway", spec))  # type: ignore[arg-type]
        outputs.append(output("Gateway", spec))
    assert all(a != b for i, a in enumerate(outputs) for b in outputs[i + 1 :])
    assert all(o != output("Gateway", plain) for o in outputs)


def _telemetry(spec: dict[str, Any]) -> Resource:
    resource = load("Telemetry", spec)
    assert resource is not None, spec
    return resource


def test_filters_the_proxy_cannot_evaluate_log_everything() -> None:
    """An access-log filter the proxy cannot evaluate (the table lists it) is as if the entry
    had no filter: the provider logs every request."""
    unfiltered = {"accessLogging": [{"providers": [{"name": "envoy"}]}]}
    for expression in ("request.headers['x'] | 'y'", "upstream_peer.labels['app'] == 'a'"):
        spec = {
            "accessLogging": [
                {"providers": [{"name": "envoy"}], "filter": {"expression": expression}}
            ]
        }
        uses = [u.path for u in find_unenforced(_telemetry(spec))]
        assert uses == ["spec.accessLogging[0].filter.expression"], uses
        assert output("Telemetry", spec) == output("Telemetry", unfiltered)
    evaluable = {
        "accessLogging": [
            {"providers": [{"name": "envoy"}], "filter": {"expression": "response.code >= 500"}}
        ]
    }
    assert not find_unenforced(_telemetry(evaluable))
    assert output("Telemetry", evaluable) != output("Telemetry", unfiltered)


def test_custom_metric_overrides_change_nothing() -> None:
    """Overrides of a custom metric (not implemented; listed) leave every standard metric as
    it is: the same as no Telemetry object at all."""
    spec = {"metrics": [{"overrides": [{"match": {"customMetric": "orders"}, "disabled": True,
                                        "tagOverrides": {"team": {"value": "'a'"}}}]}]}  # fmt: skip
    resource = _telemetry(spec)
    assert [u.path for u in find_unenforced(resource)] == [
        "spec.metrics[0].overrides[0].match.customMetric"
    ]
    assert output("Telemetry", spec) == translate([*context("Telemetry")])


def test_tag_values_the_proxy_cannot_compute_set_nothing() -> None:
    """A tag override whose value the proxy cannot compute (listed) is left out: the same as
    the override without that tag; the computable ones are applied."""

    def spec(tags: dict[str, Any]) -> dict[str, Any]:
        return {
            "metrics": [
                {"overrides": [{"match": {"metric": "REQUEST_COUNT"}, "tagOverrides": tags}]}
            ]
        }

    good = {"team": {"value": "'a'"}}
    bad = {**good, "peer_app": {"value": "upstream_peer.labels['app'].value"}}
    uses = [u.path for u in find_unenforced(_telemetry(spec(bad)))]
    assert uses == ["spec.metrics[0].overrides[0].tagOverrides.peer_app"], uses
    assert output("Telemetry", spec(bad)) == output("Telemetry", spec(good))
    assert output("Telemetry", spec(good)) != translate([*context("Telemetry")])


_TARGETED_BODIES = {
    "AuthorizationPolicy": {"action": "DENY", "rules": [{}]},
    "Telemetry": {"metrics": [{"overrides": [{"disabled": True}]}]},
}


@pytest.mark.parametrize("policy_kind", sorted(_TARGETED_BODIES))
@pytest.mark.parametrize("field", ["targetRef", "targetRefs"])
@pytest.mark.parametrize(
    ("group", "kind"),
    [("", "Service"), ("networking.istio.io", "ServiceEntry"),
     ("gateway.networking.k8s.io", "GatewayClass")],
)  # fmt: skip
def test_waypoint_targets_bind_no_proxy(
    policy_kind: str, field: str, group: str, kind: str
) -> None:
    """A policy targeting a Service, ServiceEntry or GatewayClass (the table lists those kinds)
    is for waypoint proxies: the world's output is the same as without the policy; a Gateway
    target changes the gateway's."""
    target = {"group": group, "kind": kind, "name": "reviews"}
    spec = {field: target if field == "targetRef" else [target], **_TARGETED_BODIES[policy_kind]}
    resource = load(policy_kind, spec)
    assert resource is not None
    assert [u.path for u in find_unenforced(resource)] == [
        f"spec.{field}.kind" if field == "targetRef" else f"spec.{field}[0].kind"
    ]
    without = translate(list(context(policy_kind)))
    assert translate([*context(policy_kind), resource]) == without
    gateway = load(policy_kind, {**spec, field: _gateway(field)})
    assert gateway is not None and not find_unenforced(gateway)
    assert translate([*context(policy_kind), gateway]) != without


def _gateway(field: str) -> Any:
    target = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw"}
    return target if field == "targetRef" else [target]


def _envoy_filter_output(*specs: dict[str, Any]) -> Any:
    found = [load("EnvoyFilter", spec, f"ef{i}") for i, spec in enumerate(specs)]
    assert all(r is not None for r in found)
    return translate([*context("EnvoyFilter"), *[r for r in found if r is not None]])


def _timeout_patch(seconds: str) -> dict[str, Any]:
    value = {"connect_timeout": seconds}
    return {"applyTo": "CLUSTER", "patch": {"operation": "MERGE", "value": value}}


def test_envoy_filter_patch_values_apply() -> None:
    """A patch's value is what it writes; one that is not Envoy config is refused."""
    three, four = _timeout_patch("3s"), _timeout_patch("4s")
    outputs = [_envoy_filter_output({"configPatches": [p]}) for p in (three, four)]
    assert _envoy_filter_output() != outputs[0] != outputs[1] != _envoy_filter_output()
    bad = {"applyTo": "CLUSTER", "patch": {"operation": "MERGE", "value": {"no_such": 1}}}
    assert load("EnvoyFilter", {"configPatches": [bad]}) is None


def test_envoy_filter_priority_orders_patches() -> None:
    """Two MERGEs of one field: the later one wins, and ``priority`` decides which is later."""
    first, second = (
        {"configPatches": [_timeout_patch("3s")]},
        {"configPatches": [_timeout_patch("4s")]},
    )
    plain = _envoy_filter_output(first, second)
    assert _envoy_filter_output({**first, "priority": 10}, second) != plain
    assert _envoy_filter_output({**first, "priority": -10}, second) == plain


def test_envoy_filter_target_kinds() -> None:
    """A Gateway target selects its pods; GatewayClass and Service targets (listed) select no
    proxy here, like an EnvoyFilter that patches nothing."""
    ref = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw"}
    spec = {"targetRefs": [ref], "configPatches": [_timeout_patch("3s")]}
    assert _envoy_filter_output(spec) != _envoy_filter_output()
    for kind in ("GatewayClass", "Service"):
        other = {**spec, "targetRefs": [{**ref, "kind": kind}]}
        resource = load("EnvoyFilter", other)
        assert resource is not None and listed(resource, "spec.targetRefs[0].kind")
        assert _envoy_filter_output(other) == _envoy_filter_output()


COVERED = [e for e in NOT_ENFORCED if e.kind in SPECS]


@pytest.mark.parametrize("entry", COVERED, ids=[f"{e.kind}:{e.path}" for e in COVERED])
def test_every_entry_is_exercised(entry: NotEnforced) -> None:
    """Each entry of an enforced kind was set by some leaf trial above (and shown inert), or
    by a scenario test of its own."""
    if (entry.kind, entry.path) in ENTRY_SCENARIOS or (entry.kind, entry.path) in SCENARIOS:
        return
    for kind, pattern, *_ in LEAVES:
        if kind != entry.kind or (kind, pattern) in SCENARIOS:
            continue
        for *_, resource in trials(kind, pattern):
            if any(use.entry is entry for use in find_unenforced(resource)):
                return
    assert (entry.kind, entry.path) in SCENARIOS, entry  # shown by its scenario test


_JWT_RULE = {"issuer": "https://issuer.example.com", "jwks": json.dumps(
    {"keys": [{"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"}]})}  # fmt: skip


def _request_authentication(spec: dict[str, Any]) -> Resource:
    resource = load("RequestAuthentication", spec)
    assert resource is not None, spec
    return resource


def test_waypoint_targets_attach_nowhere() -> None:
    """A policy targeting a Service, ServiceEntry or GatewayClass (waypoints) changes no proxy
    here, while a Gateway target does (the gateway "gw")."""
    ref = {"group": "", "kind": "Service", "name": "reviews"}
    entry = {"group": "networking.istio.io", "kind": "ServiceEntry", "name": "api"}
    waypoints = {
        "group": "gateway.networking.k8s.io",
        "kind": "GatewayClass",
        "name": "istio-waypoint",
    }
    for spec in ({"targetRef": ref}, {"targetRef": waypoints}, {"targetRefs": [ref, entry]}):
        resource = _request_authentication({**spec, "jwtRules": [_JWT_RULE]})
        assert find_unenforced(resource), spec
        assert translate([*context("RequestAuthentication"), resource]) == translate(
            list(context("RequestAuthentication"))
        )


def test_a_gateway_target_attaches() -> None:
    gateway = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw"}
    resource = _request_authentication({"targetRef": gateway, "jwtRules": [_JWT_RULE]})
    assert not find_unenforced(resource)
    assert translate([*context("RequestAuthentication"), resource]) != translate(
        list(context("RequestAuthentication"))
    )


def test_a_target_refs_group_is_read() -> None:
    """The same name under the Gateway API group attaches to the gateway "gw"; as a Service
    (core group) it attaches nowhere."""
    gateway = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw"}
    service = {"group": "", "kind": "Service", "name": "gw"}
    for field in ("targetRef", "targetRefs"):
        outputs = [
            translate([*context("RequestAuthentication"), _request_authentication(
                {field: ref if field == "targetRef" else [ref], "jwtRules": [_JWT_RULE]})])
            for ref in (gateway, service)
        ]  # fmt: skip
        assert outputs[0] != outputs[1]


def test_rules_without_keys_refuse_tokens() -> None:
    """A rule with neither jwks nor jwksUri is reported, and gets a key set that verifies no
    token (its issuer's tokens are refused, as when Istio cannot fetch keys)."""
    from sailmesh.xds.jwt.keys import NO_KEYS

    resource = _request_authentication({"jwtRules": [{"issuer": "https://issuer.example.com"}]})
    (use,) = find_unenforced(resource)
    assert use.path == "spec.jwtRules[0]"
    for proxy in ("sidecar", "gateway"):
        listeners = translate([*context("RequestAuthentication"), resource])[f"{proxy} Listener"]
        assert NO_KEYS.encode() in b"".join(listeners.values()), proxy


_ZIPKIN = [{"name": "zipkin", "zipkin": {"service": "ratings.default", "port": 9080}}]
MESH_LISTED = {
    "extensionProviders": [{"name": "stackdriver", "stackdriver": {}}],
    "defaultProviders": {"metrics": ["prometheus"]},
    "defaultHttpRetryPolicy": {"attempts": 2, "perTryTimeout": "1s"},
    "outboundTrafficPolicy": {"mode": "ALLOW_ANY", "egressProxy": {"host": "egress.example.com"}},
}
MESH_ENFORCED = {
    "enableTracing": False,
    "extensionProviders": _ZIPKIN,
    "defaultProviders": {"tracing": ["zipkin"]},
    "defaultConfig": {"tracing": {"sampling": 50.0}},
    "accessLogFile": "/tmp/mesh-access.log",
    "accessLogEncoding": "JSON",
    "accessLogFormat": "%RESPONSE_CODE%\n",
    "outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"},
    "defaultHttpRetryPolicy": {"attempts": 5},
    "rootNamespace": "mesh-root",
    "trustDomain": "example.org",
    "trustDomainAliases": ["old.example.org"],
    "localityLbSetting": {"distribute": [{"from": "r1/*", "to": {"r2/*": 100}}]},
    "enableAutoMtls": False,
    "connectTimeout": "1s",
    "tcpKeepalive": {"time": "60s"},
    "h2UpgradePolicy": "UPGRADE",
    "defaultServiceExportTo": ["~"],
    "defaultVirtualServiceExportTo": ["~"],
    "defaultDestinationRuleExportTo": ["~"],
}
#: What a read field needs beside it to show (a log format needs a log).
MESH_COMPANIONS: dict[str, dict[str, Any]] = {
    "accessLogFormat": {"accessLogFile": "/dev/stdout"},
    "extensionProviders": {"defaultProviders": {"tracing": ["zipkin"]}},
    "defaultProviders": {"extensionProviders": _ZIPKIN},
}


#: Read outside translation, where a test of their own shows the effect.
MESH_READ_ELSEWHERE = {
    "trustDomain": "workload certificates name it (tests/app/test_app_identity.py, "
    "tests/runtime/test_e2e_identity_plugin.py)",
}


def mesh_output(mesh_config: dict[str, Any]) -> Any:
    from honesty_world import mesh_translate

    return mesh_translate(mesh_config)


def operator(mesh_config: dict[str, Any]) -> Resource:
    from sailmesh.config.load import load_text

    text = json.dumps(
        {
            "apiVersion": "install.istio.io/v1alpha1",
            "kind": "IstioOperator",
            "metadata": {"name": "mesh", "namespace": "istio-system"},
            "spec": {"meshConfig": mesh_config},
        }
    )
    (found,) = load_text(text).resources
    return found


@pytest.mark.parametrize("key", sorted(MESH_LISTED))
def test_listed_mesh_config_fields_change_nothing(key: str) -> None:
    resource = operator({key: MESH_LISTED[key]})
    assert find_unenforced(resource), key
    assert mesh_output({key: MESH_LISTED[key]}) == mesh_output({})


@pytest.mark.parametrize("key", sorted(MESH_ENFORCED))
def test_read_mesh_config_fields_change_the_output(key: str) -> None:
    assert not find_unenforced(operator({key: MESH_ENFORCED[key]})), key
    base = MESH_COMPANIONS.get(key, {})
    assert mesh_output({**base, key: MESH_ENFORCED[key]}) != mesh_output(base)


@pytest.mark.parametrize("key", sorted(MESH_READ_ELSEWHERE))
def test_mesh_config_fields_read_elsewhere_are_not_listed(key: str) -> None:
    assert not find_unenforced(operator({key: "example.org"})), MESH_READ_ELSEWHERE[key]
