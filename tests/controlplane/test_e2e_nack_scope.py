"""Fault: config that Envoy rejects reaches one proxy; that proxy shows NACKED with Envoy's
message and keeps serving its last good config, while the other proxy takes later changes.

Two real sidecars in explicit mode, in namespaces ``team-a`` and ``team-b``, reach
``reviews.default`` (two loopback backends, v1 and v2). The control plane's test-only
``resource_hook`` makes team-a's route configuration invalid (an RE2 regex Envoy refuses), as
a config scoped to that namespace would. Then the route is switched from v1 to v2.
"""

from __future__ import annotations

import http.client
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from e2e_support.backend import Backend
from e2e_support.controlplane import ControlPlaneThread, start_sidecar
from e2e_support.proxy import free_port, wait_for
from sailmesh.ads.resources import ROUTE
from sailmesh.app.api import ApiClient
from sailmesh.runtime.envoy import EnvoyProcess

pytestmark = pytest.mark.e2e

HOST = "reviews.default.svc.cluster.local:9080"
BROKEN_NS = "team-a"


def route_to(subset: str) -> str:
    return f"""\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: reviews, namespace: default}}
spec:
  hosts: [reviews.default.svc.cluster.local]
  http: [{{route: [{{destination: {{host: reviews.default.svc.cluster.local, subset: {subset}}}}}]}}]
"""


def platform(v1: int, v2: int) -> str:
    return f"""\
apiVersion: v1
kind: Namespace
metadata: {{name: team-a}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: team-b}}
---
apiVersion: v1
kind: Service
metadata: {{name: reviews, namespace: default}}
spec:
  selector: {{app: reviews}}
  ports: [{{name: http, port: 9080}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: reviews, namespace: default}}
spec:
  host: reviews.default.svc.cluster.local
  subsets:
  - {{name: v1, labels: {{version: v1}}}}
  - {{name: v2, labels: {{version: v2}}}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {{name: reviews-v1, namespace: default}}
spec: {{address: 127.0.0.1, labels: {{app: reviews, version: v1}}, ports: {{http: {v1}}}}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {{name: reviews-v2, namespace: default}}
spec: {{address: 127.0.0.1, labels: {{app: reviews, version: v2}}, ports: {{http: {v2}}}}}
---
{route_to("v1")}"""


def call(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/", headers={"Host": HOST})
        response = conn.getresponse()
        body = response.read().decode(errors="replace")
        return body if response.status == 200 else f"{response.status} {body}"
    except OSError as exc:
        return repr(exc)
    finally:
        conn.close()


def break_routes(proxy: Any, resources: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Team-a's route configs get a first route with a regex RE2 (and so Envoy) rejects."""
    from envoy.config.route.v3 import route_components_pb2 as rc
    from envoy.type.matcher.v3 import regex_pb2

    if proxy.namespace != BROKEN_NS:
        return resources
    for config in resources.get(ROUTE, {}).values():
        for vhost in config.virtual_hosts:
            bad = rc.Route(match=rc.RouteMatch(safe_regex=regex_pb2.RegexMatcher(regex="(")))
            bad.direct_response.status = 200
            vhost.routes.insert(0, bad)
    return resources


@dataclass
class Mesh:
    cp: ControlPlaneThread
    api: ApiClient
    ports: dict[str, int]

    def records(self) -> dict[str, dict[str, Any]]:
        status, body = self.api.request("GET", "/v1/proxies")
        assert status == 200, body
        return {r["node"].split("~")[2].split(".")[1]: r for r in body["proxies"]}

    def rds(self, namespace: str) -> dict[str, Any]:
        record = self.records().get(namespace)
        return record["types"]["RDS"] if record else {"state": "NOT CONNECTED"}

    def synced(self, namespace: str) -> bool:
        record = self.records().get(namespace)
        return record is not None and all(
            t["state"] == "SYNCED" for k, t in record["types"].items() if k != "SDS"
        )

    def apply(self, text: str) -> None:
        status, body = self.api.request("POST", "/v1/apply", {"yaml": text})
        assert status == 200, body


@pytest.fixture
def mesh(tmp_path: Path) -> Iterator[Mesh]:
    with Backend("v1") as v1, Backend("v2") as v2:
        cp = ControlPlaneThread(tmp_path / "state", api_socket=tmp_path / "api.sock")
        cp.start()
        envoys: list[EnvoyProcess] = []
        try:
            assert cp.api_socket is not None
            m = Mesh(cp, ApiClient(cp.api_socket, timeout=10), {})
            m.apply(platform(v1.port, v2.port))
            for ns in ("team-a", "team-b"):
                m.ports[ns] = free_port()
                envoys.append(
                    start_sidecar(
                        tmp_path,
                        cp.port,
                        name=f"client-{ns}",
                        namespace=ns,
                        explicit_port=m.ports[ns],
                    )
                )
            for envoy in envoys:
                envoy.wait_ready()
            for ns, port in m.ports.items():
                wait_for(lambda n=ns: m.synced(n), 15, f"{ns} to be SYNCED")
                wait_for(lambda p=port: call(p) == "v1", 10, f"traffic through {ns}")
            yield m
        finally:
            for envoy in envoys:
                envoy.stop()
            cp.close()


def test_rejected_config_is_nacked_only_where_it_lands(mesh: Mesh) -> None:
    assert mesh.cp.cp is not None
    cp = mesh.cp.cp
    good_version = mesh.rds("team-a")["acked"]
    cp.resource_hook = break_routes
    mesh.cp.on_loop(cp.refresh)
    wait_for(lambda: mesh.rds("team-a")["state"] == "NACKED", 10, "team-a to reject its routes")
    nack = mesh.rds("team-a")["nack"]["message"]
    assert "missing )" in nack, nack
    assert mesh.rds("team-a")["acked"] == good_version, "Envoy keeps the last good version"
    assert mesh.synced("team-b"), "team-b got nothing it rejects"

    mesh.apply(route_to("v2"))
    wait_for(lambda: call(mesh.ports["team-b"]) == "v2", 10, "team-b to take the change")
    wait_for(lambda: mesh.synced("team-b"), 10, "team-b to be SYNCED on the change")
    rds_a = mesh.rds("team-a")
    assert rds_a["state"] == "NACKED" and rds_a["acked"] == good_version, rds_a

    answers = {
        ns: Counter(call(port) for _ in range(100)) for ns, port in sorted(mesh.ports.items())
    }
    print(
        f"\nteam-a: NACKED ({nack.splitlines()[0][:90]}), still serving its last good config: "
        f"{dict(answers['team-a'])}; team-b: SYNCED on the change: {dict(answers['team-b'])}"
    )
    assert answers["team-a"] == Counter({"v1": 100}), "the NACKing proxy keeps its old config"
    assert answers["team-b"] == Counter({"v2": 100}), "the other proxy serves the new config"

    cp.resource_hook = None
    mesh.cp.on_loop(cp.refresh)
    wait_for(lambda: mesh.synced("team-a"), 10, "team-a to recover once valid config is sent")
    wait_for(lambda: call(mesh.ports["team-a"]) == "v2", 10, "team-a to take the change")
