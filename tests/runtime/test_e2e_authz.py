"""AuthorizationPolicy on real traffic: sidecars and the ingress gateway of the local mesh
enforce what the policies say, and refuse what they must (403 for HTTP, the connection
closed for TCP).

One mesh (netns mode, :mod:`authz_world`) is shared by the tests of this module; each test
applies its policies and removes them afterwards (waiting until the mesh is open again).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from authz_world import gateway, manifests, removed_afterwards, start
from runtime_e2e import skip_unless_netns

from e2e_support.authz_mesh import Policies, expect, pod
from e2e_support.localmesh import LocalMeshThread
from e2e_support.probes import Request, http, statuses, tcp
from sailmesh.runtime import proxy as envoy_proxy
from sailmesh.runtime.local import RunningPod

pytestmark = pytest.mark.e2e

skip_unless_netns()

WEB = "web.authz"
REFUSED = ("closed", "reset")


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMeshThread]:
    yield from start(tmp_path_factory.mktemp("sailmesh-home"), manifests())


@pytest.fixture
def policies(mesh: LocalMeshThread) -> Iterator[Policies]:
    applied = removed_afterwards(mesh)
    try:
        yield applied
    finally:
        applied.clear()


def plain(mesh: LocalMeshThread) -> RunningPod:
    """The client without a sidecar: its address reaches servers as it is."""
    return pod(mesh, "plain", "client")


def meshed(mesh: LocalMeshThread) -> RunningPod:
    return pod(mesh, "authz", "client")


def both(
    first: RunningPod,
    second: RunningPod,
    asked: list[Request],
    second_asks: list[Request] | None = None,
) -> tuple[list[int | str], list[int | str]]:
    """The statuses ``first`` gets for ``asked`` and ``second`` for ``second_asks`` (the same
    by default). Tests wait for both: a sidecar client's pooled connections to the server keep
    the server's previous filter chain until they are drained (``--drain-time-s 2``)."""
    return statuses(first, *asked), statuses(second, *(second_asks or asked))


def policy(name: str, namespace: str, spec: str, annotations: str = "") -> str:
    meta = f"{{name: {name}, namespace: {namespace}{annotations}}}"
    return (
        f"apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {meta}\n"
        f"spec:\n{spec}\n"
    )


def test_without_policies_every_port_answers(mesh: LocalMeshThread) -> None:
    """The baseline the refusals below are measured against."""
    client, web = plain(mesh), pod(mesh, "authz", "web")
    asked = [Request(f"{WEB}/"), Request(f"{web.ip}:8081/"), Request(f"{gateway(mesh)}/")]
    assert statuses(client, *asked) == [200, 200, 200]
    assert statuses(meshed(mesh), *asked) == [200, 200, 200]
    assert tcp(client, WEB, 9000) == "echo ping"
    assert tcp(client, gateway(mesh).partition(":")[0], 31400) == "echo ping"


def test_deny_all_then_explicit_allows_by_path_method_and_header(
    mesh: LocalMeshThread, policies: Policies
) -> None:
    client, other, web = plain(mesh), meshed(mesh), pod(mesh, "authz", "web")
    policies.apply(policy("deny-all", "authz", "  {}"))
    everything = [Request(f"{WEB}/"), Request(f"{WEB}/api/items", "POST")]
    expect(lambda: both(client, other, everything), ([403, 403], [403, 403]))
    (refused,) = http(client, Request(f"{WEB}/"))
    assert refused.body == "RBAC: access denied"
    # TCP ports, and ports no Service declares, are closed too.
    assert tcp(client, WEB, 9000) in REFUSED
    assert statuses(client, Request(f"{web.ip}:8081/"))[0] == "reset"

    policies.apply(
        policy(
            "allow-some",
            "authz",
            """  selector: {matchLabels: {app: web}}
  rules:
  - to: [{operation: {methods: [GET], paths: ["/api/*"]}}]
  - to: [{operation: {methods: [POST], paths: [/submit]}}]
  - when: [{key: "request.headers[x-token]", values: ["secret-*"]}]""",
        )
    )
    asked = [
        Request(f"{WEB}/api/items"),
        Request(f"{WEB}/api/items", "POST"),
        Request(f"{WEB}/submit", "POST"),
        Request(f"{WEB}/submit"),
        Request(f"{WEB}/other"),
        Request(f"{WEB}/other", headers={"x-token": "secret-42"}),
        Request(f"{WEB}/other", headers={"x-token": "guess"}),
    ]
    answer = [200, 403, 200, 403, 403, 200, 403]
    expect(lambda: both(client, other, asked), (answer, answer))
    # The ALLOW rules name HTTP attributes only: on the TCP port they are dropped.
    assert tcp(client, WEB, 9000) in REFUSED


def test_peer_identities_over_mutual_tls(mesh: LocalMeshThread, policies: Policies) -> None:
    """principals, namespaces, serviceAccounts, trustDomains, notPrincipals and
    source.principal match the SPIFFE identity of the client sidecar's certificate (auto mTLS);
    a client without a sidecar has none."""
    client, other = plain(mesh), meshed(mesh)
    policies.apply(
        policy(
            "by-identity",
            "authz",
            """  selector: {matchLabels: {app: web}}
  rules:
  - from: [{source: {principals: [cluster.local/ns/authz/sa/default]}}]
    to: [{operation: {paths: [/by-principal]}}]
  - from: [{source: {namespaces: [authz]}}]
    to: [{operation: {paths: [/by-namespace]}}]
  - from: [{source: {serviceAccounts: [authz/default]}}]
    to: [{operation: {paths: [/by-service-account]}}]
  - from: [{source: {trustDomains: [cluster.local]}}]
    to: [{operation: {paths: [/by-trust-domain]}}]
  - from: [{source: {notPrincipals: ["*"]}}]
    to: [{operation: {paths: [/anonymous]}}]
  - to: [{operation: {paths: [/by-condition]}}]
    when: [{key: source.principal, values: ["cluster.local/ns/authz/*"]}]
  - from: [{source: {principals: [cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account]}}]
    to: [{operation: {paths: [/from-gateway]}}]
  - from: [{source: {principals: [cluster.local/ns/authz/sa/default]}}]
    to: [{operation: {ports: ["9000"]}}]""",
        )
    )
    paths = ["/by-principal", "/by-namespace", "/by-service-account", "/by-trust-domain",
             "/anonymous", "/by-condition", "/from-gateway"]  # fmt: skip
    asked = [Request(f"{WEB}{path}") for path in paths]
    expect(
        lambda: both(other, client, asked),
        ([200, 200, 200, 200, 403, 200, 403], [403, 403, 403, 403, 200, 403, 403]),
    )
    # The gateway's own identity reaches the workload through it.
    via = gateway(mesh)
    assert statuses(client, Request(f"{via}/from-gateway"), Request(f"{via}/by-principal")) == [
        200,
        403,
    ]
    # On the TCP port, the same identities.
    assert tcp(other, WEB, 9000) == "echo ping"
    assert tcp(client, WEB, 9000) in REFUSED


def test_namespace_deny_refuses_a_whole_namespace(
    mesh: LocalMeshThread, policies: Policies
) -> None:
    client, other = plain(mesh), meshed(mesh)
    policies.apply(
        policy(
            "deny-authz-namespace",
            "authz",
            "  action: DENY\n  rules: [{from: [{source: {namespaces: [authz]}}], "
            "to: [{operation: {paths: [/private]}}]}]",
        )
    )
    asked = [Request(f"{WEB}/private"), Request(f"{WEB}/public")]
    expect(lambda: both(other, client, asked), ([403, 200], [200, 200]))


def test_deny_beats_allow(mesh: LocalMeshThread, policies: Policies) -> None:
    client = plain(mesh)
    policies.apply(policy("allow-all", "authz", "  rules: [{}]"))
    policies.apply(
        policy(
            "deny-admin",
            "authz",
            """  action: DENY
  rules:
  - to: [{operation: {paths: ["/admin*"]}}]
  - to: [{operation: {notMethods: [GET, POST]}}]""",
        )
    )
    asked = [
        Request(f"{WEB}/x"),
        Request(f"{WEB}/admin"),
        Request(f"{WEB}/admin/users", "POST"),
        Request(f"{WEB}/x", "POST"),
        Request(f"{WEB}/x", "PUT"),
    ]
    expect(lambda: statuses(client, *asked), [200, 403, 403, 200, 403])


def test_ip_blocks_are_the_peer_and_remote_ip_blocks_the_forwarded_client(
    mesh: LocalMeshThread, policies: Policies
) -> None:
    client, other = plain(mesh), meshed(mesh)
    policies.apply(
        policy(
            "deny-by-address",
            "authz",
            f"""  action: DENY
  rules:
  - from: [{{source: {{ipBlocks: ["{client.ip}"]}}}}]
    to: [{{operation: {{paths: [/by-peer]}}}}]
  - from: [{{source: {{remoteIpBlocks: ["{client.ip}/32"]}}}}]
    to: [{{operation: {{paths: [/by-client]}}}}]
  - from: [{{source: {{remoteIpBlocks: [203.0.113.0/24]}}}}]""",
        )
    )
    forged = {"x-forwarded-for": "203.0.113.9"}
    via = gateway(mesh)
    direct = [
        Request(f"{WEB}/by-peer"),
        Request(f"{WEB}/by-client"),
        Request(f"{WEB}/"),
        Request(f"{WEB}/", headers=forged),
    ]
    meshed_asks = [Request(f"{WEB}/by-peer"), Request(f"{WEB}/", headers=forged)]
    expect(lambda: both(client, other, direct, meshed_asks), ([403, 403, 200, 403], [200, 403]))
    # Through the gateway the peer is the gateway, and the client is the last address of
    # x-forwarded-for (the gateway appends the address it sees; what the client wrote stays
    # in front, so it cannot pass for another address).
    via_gateway = [
        Request(f"{via}/by-peer"),
        Request(f"{via}/by-client"),
        Request(f"{via}/", headers=forged),
    ]
    # (polled: the gateway's pooled connections keep the server's previous filter chain until
    # they are drained)
    expect(lambda: statuses(client, *via_gateway), [200, 403, 200])


def test_a_tcp_port_policy_closes_refused_connections(
    mesh: LocalMeshThread, policies: Policies
) -> None:
    client, other = plain(mesh), meshed(mesh)
    policies.apply(
        policy(
            "allow-tcp-from-client",
            "authz",
            f"""  rules:
  - from: [{{source: {{ipBlocks: ["{other.ip}"]}}}}]
    to: [{{operation: {{ports: ["9000"]}}}}]
  - to: [{{operation: {{methods: [GET]}}}}]""",
        )
    )
    # (all polled together: the previous test's policies may still refuse the same TCP
    # connection for a moment, so one condition alone could pass on stale config)
    expect(
        lambda: (
            tcp(client, WEB, 9000) in REFUSED,
            tcp(other, WEB, 9000),
            statuses(client, Request(f"{WEB}/"), Request(f"{WEB}/", "POST")),
        ),
        (True, "echo ping", [200, 403]),
    )
    # A DENY rule keeps its TCP conditions without the HTTP-only ones: here none is left,
    # so it refuses every connection to the TCP port (and only POST requests on HTTP).
    policies.apply(
        policy(
            "deny-post",
            "authz",
            "  action: DENY\n  rules: [{to: [{operation: {methods: [POST]}}]}]",
        )
    )
    expect(lambda: tcp(other, WEB, 9000) in REFUSED, True)
    assert statuses(client, Request(f"{WEB}/"), Request(f"{WEB}/", "POST")) == [200, 403]


def test_gateway_policies_apply_on_the_gateway(mesh: LocalMeshThread, policies: Policies) -> None:
    client, other, via = plain(mesh), meshed(mesh), gateway(mesh)
    policies.apply(
        policy(
            "ingress",
            "istio-system",
            f"""  selector: {{matchLabels: {{istio: ingressgateway}}}}
  action: DENY
  rules:
  - to: [{{operation: {{paths: ["/private*"]}}}}]
  - from: [{{source: {{ipBlocks: ["{client.ip}"]}}}}]
    to: [{{operation: {{paths: [/no-plain]}}}}]
  - from: [{{source: {{remoteIpBlocks: ["{client.ip}"]}}}}]
    to: [{{operation: {{paths: [/no-plain-remote]}}}}]""",
        )
    )
    asked = [
        Request(f"{via}/public"),
        Request(f"{via}/private/x"),
        Request(f"{via}/no-plain"),
        Request(f"{via}/no-plain-remote", headers={"x-forwarded-for": "198.51.100.1"}),
    ]
    expect(lambda: both(client, other, asked), ([200, 403, 403, 403], [200, 403, 200, 200]))
    # The policy selects the gateway only: the workload itself still answers.
    assert statuses(client, Request(f"{WEB}/private/x")) == [200]
    # The gateway's TCP server (an echo without policies, see the first test) is authorized
    # too: on TCP the first DENY rule loses its HTTP-only path and refuses every connection.
    host = via.partition(":")[0]
    assert tcp(client, host, 31400) in REFUSED
    assert tcp(other, host, 31400) in REFUSED


def _checks(mesh: LocalMeshThread) -> dict[str, int]:
    (answer,) = http(plain(mesh), Request("ext-authz.ext:8000/stats"))
    assert answer.status == 200, answer
    found: dict[str, int] = json.loads(answer.body)
    return found


@pytest.mark.parametrize(
    ("provider", "kind"), [("ext-authz-http", "http"), ("ext-authz-grpc", "grpc")]
)
def test_custom_policies_ask_the_ext_authz_server(
    mesh: LocalMeshThread, policies: Policies, provider: str, kind: str
) -> None:
    client = plain(mesh)
    policies.apply(
        policy(
            "ext-authz",
            "authz",
            f"""  selector: {{matchLabels: {{app: web}}}}
  action: CUSTOM
  provider: {{name: {provider}}}
  rules: [{{to: [{{operation: {{paths: ["/headers*"]}}}}]}}]""",
        )
    )
    allow, deny = {"x-ext-authz": "allow"}, {"x-ext-authz": "deny"}
    asked = [Request(f"{WEB}/headers", headers=allow), Request(f"{WEB}/headers", headers=deny)]
    expect(lambda: statuses(client, *asked), [200, 403])
    allowed, denied = http(client, *asked)
    assert json.loads(allowed.body)["headers"]["x-ext-authz-check-result"] == "allowed"
    assert denied.headers["x-ext-authz-check-result"] == "denied"
    assert denied.body.startswith("denied by ext_authz")
    # Requests no CUSTOM rule matches are not sent to the provider.
    before = _checks(mesh)[kind]
    assert statuses(client, Request(f"{WEB}/other"), Request(f"{WEB}/x", "POST")) == [200, 200]
    assert _checks(mesh)[kind] == before
    assert statuses(client, asked[0]) == [200]
    assert _checks(mesh)[kind] == before + 1


def test_custom_grpc_policies_check_tcp_connections(
    mesh: LocalMeshThread, policies: Policies
) -> None:
    client, other = plain(mesh), meshed(mesh)
    policies.apply(
        policy(
            "ext-authz-tcp",
            "authz",
            f"""  selector: {{matchLabels: {{app: web}}}}
  action: CUSTOM
  provider: {{name: ext-authz-grpc}}
  rules:
  - from: [{{source: {{notIpBlocks: ["{other.ip}"]}}}}]
    to: [{{operation: {{ports: ["9000"]}}}}]""",
        )
    )
    # The server denies connections (no --allow-tcp); the meshed client's are not checked.
    expect(
        lambda: (
            tcp(client, WEB, 9000) in REFUSED,
            tcp(other, WEB, 9000),
            statuses(client, Request(f"{WEB}/")),
        ),
        (True, "echo ping", [200]),
    )


def _shadow_denied(web: RunningPod) -> int:
    """How many requests the dry-run DENY rules of ``web``'s sidecar would have refused."""
    status, body = envoy_proxy.admin_request(web.netns_file, "/stats?filter=rbac", web.admin_port)
    assert status == 200, body[:200]
    for line in body.splitlines():
        name, _, value = line.partition(": ")
        if name.startswith("http.inbound_0.0.0.0_8080.rbac.istio_dry_run_deny_") and name.endswith(
            "shadow_denied"
        ):
            return int(value)
    return -1


def _audited(web: RunningPod) -> list[str]:
    log = web.supervisor.log_path("istio-proxy").read_text(errors="replace")
    return [line for line in log.splitlines() if "] AUDIT " in line]


def test_audit_and_dry_run_policies_never_refuse(mesh: LocalMeshThread, policies: Policies) -> None:
    client, web = plain(mesh), pod(mesh, "authz", "web")
    policies.apply(
        policy(
            "audit-deletes",
            "authz",
            "  action: AUDIT\n  rules: [{to: [{operation: {methods: [DELETE]}}]}]",
        )
    )
    policies.apply(
        policy(
            "dry-deny",
            "authz",
            "  action: DENY\n  rules: [{to: [{operation: {paths: [/dry]}}]}]",
            annotations=', annotations: {"istio.io/dry-run": "true"}',
        )
    )
    expect(lambda: _shadow_denied(web) >= 0, True)
    audited, shadow_denied = len(_audited(web)), _shadow_denied(web)
    asked = [Request(f"{WEB}/audited", "DELETE"), Request(f"{WEB}/dry"), Request(f"{WEB}/x")]
    assert statuses(client, *asked) == [200, 200, 200]
    # The audit log has the DELETE only (access logs are flushed every 500 ms).
    expect(
        lambda: [line.split('"')[1] for line in _audited(web)[audited:]],
        ["DELETE /audited HTTP/1.1"],
    )
    assert _shadow_denied(web) == shadow_denied + 1
