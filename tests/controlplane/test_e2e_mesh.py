"""The control plane end to end: config applied through it reaches real Envoy and real traffic.

One control plane, three backends (reviews v1/v2/v3 as WorkloadEntries on 127.0.0.1) and one
real Envoy sidecar in explicit mode (an http_proxy listener routing on the Host header) are
shared by the tests in this module.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from config_support.manifests import manifests
from e2e_support.backend import Backend
from e2e_support.controlplane import ControlPlaneThread, start_sidecar
from e2e_support.proxy import free_port, wait_for
from sailmesh.ads.resources import ROUTE
from sailmesh.runtime.envoy import EnvoyProcess

pytestmark = pytest.mark.e2e

CLIENT = "client"


def platform(ports: dict[str, int]) -> str:
    entries = "".join(
        f"""---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {{name: reviews-{v}}}
spec:
  address: 127.0.0.1
  labels: {{app: reviews, version: {v}}}
  ports: {{http: {port}}}
"""
        for v, port in ports.items()
    )
    return (
        manifests("""\
apiVersion: v1
kind: Service
metadata: {name: reviews}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
DestinationRule reviews
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: v3, labels: {version: v3}}
""")
        + entries
    )


def vs(http: str) -> str:
    return f"""\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: reviews}}
spec:
  hosts: [reviews]
  http:
{http}"""


ALL_V1 = vs("  - route: [{destination: {host: reviews, subset: v1}}]\n")
ALL_V2 = vs("  - route: [{destination: {host: reviews, subset: v2}}]\n")


@dataclass
class Mesh:
    cp: ControlPlaneThread
    envoy: EnvoyProcess
    port: int
    node_id: str = ""

    def statuses(self) -> dict[str, Any]:
        assert self.cp.cp is not None
        cp = self.cp.cp
        records = self.cp.on_loop(cp.proxy_status)
        return {r["node"]: r for r in records}

    def synced(self) -> bool:
        record = self.statuses().get(self.node_id)
        return record is not None and all(
            t["state"] == "SYNCED" for k, t in record["types"].items() if k != "SDS"
        )

    def apply_and_wait(self, text: str) -> None:
        before = self.route_version()
        outcomes = self.cp.apply(text)["outcomes"]
        if all(o.endswith("unchanged") or "unchanged " in o for o in outcomes):
            wait_for(self.synced, 10, "the sidecar to be SYNCED")
            return
        wait_for(lambda: self.route_version() != before and self.synced(), 10, "new routes acked")

    def route_version(self) -> str | None:
        record = self.statuses().get(self.node_id)
        return record["types"]["RDS"].get("acked") if record else None


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    work = tmp_path_factory.mktemp("mesh")
    with Backend("v1") as v1, Backend("v2") as v2, Backend("v3") as v3:
        cp = ControlPlaneThread(work / "state", api_socket=work / "api.sock")
        cp.start()
        try:
            cp.apply(platform({"v1": v1.port, "v2": v2.port, "v3": v3.port}) + "---\n" + ALL_V1)
            port = free_port()
            envoy = start_sidecar(work, cp.port, name=CLIENT, explicit_port=port)
            try:
                envoy.wait_ready()
                m = Mesh(cp, envoy, port)
                wait_for(lambda: bool(m.statuses()), 10, "the sidecar to connect")
                m.node_id = next(iter(m.statuses()))
                wait_for(m.synced, 10, "the sidecar to be SYNCED")
                wait_for(lambda: call(port)[1] == "v1", 10, "traffic to flow")
                yield m
            finally:
                envoy.stop()
        finally:
            cp.close()


def call(
    port: int,
    path: str = "/",
    headers: dict[str, str] | None = None,
    conn: http.client.HTTPConnection | None = None,
) -> tuple[int, str]:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": "reviews:9080", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    except OSError as exc:
        conn.close()
        return 0, repr(exc)
    finally:
        if own:
            conn.close()


@dataclass
class Load:
    """Bounded steady load in a thread: ``count`` requests at most, ``pause`` apart."""

    port: int
    count: int = 2000
    pause: float = 0.002
    results: list[tuple[int, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, name="load")

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        for _ in range(self.count):
            if self.stop.is_set():
                break
            self.results.append(call(self.port, conn=conn))
            time.sleep(self.pause)
        conn.close()

    def __enter__(self) -> Load:
        self._thread.start()
        time.sleep(0.2)
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.3)
        self.stop.set()
        self._thread.join(timeout=30)

    @property
    def failures(self) -> list[tuple[int, str]]:
        return [r for r in self.results if r[0] != 200]


def test_weighted_split_80_20(mesh: Mesh) -> None:
    mesh.apply_and_wait(
        vs("""\
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 80}
    - {destination: {host: reviews, subset: v2}, weight: 20}
""")
    )
    conn = http.client.HTTPConnection("127.0.0.1", mesh.port, timeout=5)
    answers = Counter(call(mesh.port, conn=conn)[1] for _ in range(2000))
    conn.close()
    assert set(answers) == {"v1", "v2"}, answers
    share = 100 * answers["v1"] / 2000
    assert 75 <= share <= 85, answers


def test_header_and_uri_matches(mesh: Mesh) -> None:
    mesh.apply_and_wait(
        vs("""\
  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - match: [{uri: {prefix: /v3}}, {uri: {regex: "/third/[0-9]+"}}]
    route: [{destination: {host: reviews, subset: v3}}]
  - route: [{destination: {host: reviews, subset: v1}}]
""")
    )
    assert call(mesh.port, headers={"end-user": "jason"})[1] == "v2"
    assert call(mesh.port, headers={"end-user": "jasonx"})[1] == "v1"
    assert call(mesh.port, "/v3/reviews")[1] == "v3"
    assert call(mesh.port, "/third/42")[1] == "v3"
    assert call(mesh.port, "/third/x")[1] == "v1"
    assert call(mesh.port, "/")[1] == "v1"


def test_change_under_steady_load_fails_no_request(mesh: Mesh) -> None:
    mesh.apply_and_wait(ALL_V1)
    with Load(mesh.port, count=1500) as load:
        mesh.apply_and_wait(ALL_V2)
        mesh.apply_and_wait(ALL_V1)
        mesh.apply_and_wait(ALL_V2)
    assert load.failures == [], load.failures[:5]
    bodies = [body for _, body in load.results]
    assert "v1" in bodies and bodies[-1] == "v2"


def test_control_plane_restart_under_load_loses_nothing(mesh: Mesh) -> None:
    mesh.apply_and_wait(ALL_V1)
    acked = mesh.route_version()
    with Load(mesh.port, count=1500) as load:
        mesh.cp.stop()
        time.sleep(0.5)
        mesh.cp.start()  # same ADS port, config restored from the state directory
        wait_for(lambda: mesh.node_id in mesh.statuses(), 15, "the sidecar to reconnect")
        wait_for(mesh.synced, 15, "the sidecar to resync")
    assert load.failures == [], load.failures[:5]
    assert len(load.results) > 100
    assert mesh.route_version() == acked, "same config, same versions: nothing new to push"
    mesh.apply_and_wait(ALL_V2)
    assert call(mesh.port)[1] == "v2", "the restarted control plane still pushes changes"


def test_rejected_config_shows_nacked_and_old_config_serves(mesh: Mesh) -> None:
    from envoy.config.route.v3 import route_components_pb2 as rc
    from envoy.type.matcher.v3 import regex_pb2

    mesh.apply_and_wait(ALL_V2)
    assert mesh.cp.cp is not None
    cp = mesh.cp.cp

    def break_routes(proxy: Any, resources: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for config in resources.get(ROUTE, {}).values():
            for vhost in config.virtual_hosts:
                bad = rc.Route(match=rc.RouteMatch(safe_regex=regex_pb2.RegexMatcher(regex="(")))
                bad.direct_response.status = 200
                vhost.routes.insert(0, bad)
        return resources

    cp.resource_hook = break_routes
    try:
        mesh.cp.on_loop(cp.refresh)

        def nacked() -> bool:
            record = mesh.statuses()[mesh.node_id]
            return bool(record["types"]["RDS"]["state"] == "NACKED")

        wait_for(nacked, 10, "Envoy to reject the routes")
        rds = mesh.statuses()[mesh.node_id]["types"]["RDS"]
        assert "missing )" in rds["nack"]["message"], rds
        code, out = sailctl(mesh, "proxy-status")
        assert code == 0 and "NACKED" in out and "missing )" in out, out
        answers = Counter(call(mesh.port)[1] for _ in range(50))
        assert answers == Counter({"v2": 50}), "the proxy keeps serving the last good config"
    finally:
        cp.resource_hook = None
        mesh.cp.on_loop(cp.refresh)
    wait_for(mesh.synced, 10, "the proxy to recover once valid config is served")


def sailctl(mesh: Mesh, *args: str, stdin: str | None = None) -> tuple[int, str]:
    from click.testing import CliRunner

    from sailmesh.cli.main import cli

    assert mesh.cp.api_socket is not None
    result = CliRunner().invoke(cli, [*args, "--socket", str(mesh.cp.api_socket)], input=stdin)
    return result.exit_code, result.output


def test_sailctl_apply_get_delete_and_proxy_status(mesh: Mesh) -> None:
    code, out = sailctl(mesh, "apply", "-f", "-", stdin=ALL_V1)
    assert code == 0 and "virtualservice/reviews" in out, out
    wait_for(lambda: call(mesh.port)[1] == "v1", 10, "the applied config to take effect")

    code, out = sailctl(mesh, "get", "virtualservices")
    assert code == 0 and "reviews" in out.splitlines()[1], out
    code, out = sailctl(mesh, "get", "vs", "reviews", "-o", "yaml")
    assert code == 0 and "subset: v1" in out, out

    code, out = sailctl(
        mesh,
        "apply",
        "-f",
        "-",
        stdin=vs("  - route: [{destination: {host: reviews, subset: v1}, weight: -1}]\n"),
    )
    assert code == 1 and "spec.http[0].route[0].weight" in out and "nothing was applied" in out, out

    code, out = sailctl(mesh, "proxy-status")
    assert code == 0, out
    header, *rows = out.splitlines()
    assert header.split()[:5] == ["NAME", "CDS", "LDS", "EDS", "RDS"]
    assert any(row.startswith("client.default") and "SYNCED" in row for row in rows), out
