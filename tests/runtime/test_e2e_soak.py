"""A bounded soak of the demo mesh: steady page loads through the ingress gateway while the
routing changes every second, then no failed request and bounded memory growth.

Each tick (one a second) applies, at once:

- a DestinationRule for productpage with a subset new to this tick (same pods) and the gateway's
  VirtualService routing to it: a new cluster and the route that needs it in one change (the
  make-before-break case: routes must not reach Envoy before their cluster);
- the reviews VirtualService with weights rotating over v1/v2/v3 (new routes on productpage);
- the reviews DestinationRule with a connection-pool setting that alternates (new clusters).

Memory is measured after a warm-up (traffic and changes already running) and at the end: the
control plane's (the mesh runs in this process: its RSS) and each sidecar's (Envoy's
``/memory`` ``allocated`` and its process's RSS). ``SAILMESH_SOAK_SECONDS`` sets the soak's
length (CI: 20 s).
"""

from __future__ import annotations

import gc
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_e2e import demo_mesh, skip_unless_netns

from e2e_support.load import Load
from e2e_support.localmesh import LocalMeshThread
from e2e_support.proxy import wait_for
from sailmesh.runtime import proxy as envoy_proxy
from sailmesh.runtime.local import RunningPod

pytestmark = pytest.mark.e2e

skip_unless_netns()

SOAK_SECONDS = float(os.environ.get("SAILMESH_SOAK_SECONDS", "20"))
WARMUP_TICKS = 5
MB = 1024 * 1024
#: Allowed growth between the end of the warm-up and the end of the soak.
CONTROL_PLANE_BOUND = 50 * MB
ENVOY_BOUND = 20 * MB

PAGE_ERRORS = ("Error fetching", "currently unavailable")
WEIGHTS = ((60, 30, 10), (10, 60, 30), (30, 10, 60))


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMeshThread]:
    yield from demo_mesh(tmp_path_factory.mktemp("sailmesh-home"))


def tick_config(tick: int) -> str:
    """The config of one tick (see the module docstring)."""
    v1, v2, v3 = WEIGHTS[tick % len(WEIGHTS)]
    paths = ("exact: /productpage", "prefix: /static", "exact: /login", "exact: /logout")
    matches = "".join(f"    - uri: {{{p}}}\n" for p in (*paths, "prefix: /api/v1/products"))
    return f"""
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: productpage}}
spec:
  host: productpage
  subsets:
  - {{name: v1, labels: {{version: v1}}}}
  - {{name: t{tick}, labels: {{version: v1}}}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: bookinfo}}
spec:
  hosts: ["*"]
  gateways: [bookinfo-gateway]
  http:
  - match:
{matches}    route:
    - destination: {{host: productpage, subset: t{tick}, port: {{number: 9080}}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: reviews}}
spec:
  host: reviews
  trafficPolicy:
    connectionPool: {{tcp: {{maxConnections: {1000 + tick % 2}}}}}
  subsets:
  - {{name: v1, labels: {{version: v1}}}}
  - {{name: v2, labels: {{version: v2}}}}
  - {{name: v3, labels: {{version: v3}}}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: reviews}}
spec:
  hosts: [reviews]
  http:
  - route:
    - {{destination: {{host: reviews, subset: v1}}, weight: {v1}}}
    - {{destination: {{host: reviews, subset: v2}}, weight: {v2}}}
    - {{destination: {{host: reviews, subset: v3}}, weight: {v3}}}
"""


def page_judge(status: int, body: str) -> str:
    if status != 200:
        return f"status {status}: {body[:200]}"
    bad = [e for e in PAGE_ERRORS if e in body]
    return f"page shows {bad}" if bad else ""


def rss(pid: int | str) -> int:
    """VmRSS of process ``pid`` (or ``self``), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def control_plane_rss() -> int:
    gc.collect()
    return rss("self")


def sidecars(mesh: LocalMeshThread) -> dict[str, RunningPod]:
    assert mesh.mesh.runtime is not None
    return {
        p.plan.name: p
        for p in mesh.mesh.runtime.pods.values()
        if any(c.name == "istio-proxy" for c in p.supervisor.status().containers)
    }


def envoy_memory(pod: RunningPod) -> tuple[int, int, int]:
    """``(allocated, rss, pid)`` of the pod's Envoy."""
    pid = pod.supervisor.status().container("istio-proxy").pid
    assert pid is not None
    status, body = envoy_proxy.admin_request(pod.netns_file, "/memory", pod.admin_port)
    assert status == 200, body[:200]
    return int(json.loads(body)["allocated"]), rss(pid), pid


def error_lines(mesh: LocalMeshThread) -> list[str]:
    """The sidecars' access-log lines of 5xx responses (for a failure's message)."""
    lines = []
    for name, pod in sidecars(mesh).items():
        text = pod.supervisor.log_path("istio-proxy").read_text(errors="replace")
        lines += [f"{name}: {line}" for line in text.splitlines() if '" 5' in line]
    return lines


def run_ticks(mesh: LocalMeshThread, first: int, count: int) -> list[float]:
    """Apply ``count`` ticks one second apart; how long each apply took."""
    took: list[float] = []
    start = time.monotonic()
    for i in range(count):
        time.sleep(max(0.0, start + i - time.monotonic()))
        began = time.monotonic()
        outcomes = mesh.apply(tick_config(first + i))
        assert len(outcomes) == 4, outcomes
        took.append(time.monotonic() - began)
    return took


def test_soak_with_a_config_change_every_second(mesh: LocalMeshThread) -> None:
    port = mesh.gateway_port(8080)
    ticks = max(1, int(SOAK_SECONDS))
    load = Load(
        port, "/productpage", workers=3, timeout=10, max_seconds=SOAK_SECONDS + 60, judge=page_judge
    )
    with load:
        run_ticks(mesh, 0, WARMUP_TICKS)
        wait_for(lambda: len(load.snapshot()) > 0, 10, "traffic")
        cp_before = control_plane_rss()
        envoys_before = {name: envoy_memory(p) for name, p in sidecars(mesh).items()}
        soak_started = time.monotonic()
        took = run_ticks(mesh, WARMUP_TICKS, ticks)
        time.sleep(1.0)  # the last change reaches the proxies under traffic
        soak_seconds = time.monotonic() - soak_started
    cp_after = control_plane_rss()
    envoys_after = {name: envoy_memory(p) for name, p in sidecars(mesh).items()}

    outcomes, failures = load.snapshot(), load.failures()
    during = [o for o in outcomes if o.at >= soak_started]
    latencies = sorted(o.seconds for o in during)
    cp_growth = cp_after - cp_before
    print(
        f"\nsoak: {soak_seconds:.1f}s after a {WARMUP_TICKS}s warm-up, {ticks} config changes"
        f" (apply p50 {sorted(took)[len(took) // 2] * 1000:.0f} ms, max {max(took) * 1000:.0f} ms);"
        f" requests {len(outcomes)} ({len(during)} in the soak, {len(during) / soak_seconds:.0f}/s,"
        f" p50 {latencies[len(latencies) // 2] * 1000:.0f} ms,"
        f" p99 {latencies[int(len(latencies) * 0.99)] * 1000:.0f} ms), failed {len(failures)}"
    )
    print(
        f"control plane RSS {cp_before / MB:.1f} -> {cp_after / MB:.1f} MB"
        f" (growth {cp_growth / MB:+.1f} MB, bound {CONTROL_PLANE_BOUND // MB} MB)"
    )
    growth: dict[str, tuple[int, int]] = {}
    for name, (alloc, resident, pid) in sorted(envoys_before.items()):
        alloc2, resident2, pid2 = envoys_after[name]
        assert pid2 == pid, f"{name}'s Envoy restarted during the soak"
        growth[name] = (alloc2 - alloc, resident2 - resident)
        print(
            f"  envoy {name}: allocated {alloc / MB:.1f} -> {alloc2 / MB:.1f} MB"
            f" ({(alloc2 - alloc) / MB:+.1f}), RSS {resident / MB:.1f} -> {resident2 / MB:.1f} MB"
            f" ({(resident2 - resident) / MB:+.1f}); bound {ENVOY_BOUND // MB} MB"
        )
    if failures:
        print("\n".join(error_lines(mesh)[-20:]))
    assert failures == [], [(round(o.at - soak_started, 2), o.error) for o in failures[:10]]
    assert len(during) >= ticks, "too little traffic to say anything"
    assert cp_growth < CONTROL_PLANE_BOUND
    assert all(max(g) < ENVOY_BOUND for g in growth.values()), growth
