"""Explicit mode end to end: no namespace, the app reaches its real Envoy sidecar through
``http_proxy`` and Envoy routes on the Host header."""

from __future__ import annotations

import json
import sys

import pytest
from sandbox_helpers import (
    APP_SERVER,
    ENVOY,
    can_connect,
    envoy_ready,
    explicit_proxy_bootstrap,
    free_port,
    stat,
    wait_for,
    write_json,
)

from sailmesh.runtime.sandbox import netns
from sailmesh.runtime.sandbox.modes import Mode
from sailmesh.runtime.sandbox.pod import PodSandbox, PodSpec

pytestmark = pytest.mark.e2e


def test_http_proxy_env_sends_app_traffic_through_envoy(explicit_names: netns.RunNames) -> None:
    if ENVOY.exists() is False:
        pytest.skip(f"Envoy binary not found at {ENVOY}")
    app_port, proxy_port = free_port(), free_port()
    server = PodSandbox(explicit_names, PodSpec("reviews-v1"), Mode.EXPLICIT)
    client = PodSandbox(
        explicit_names, PodSpec("productpage", explicit_outbound_port=proxy_port), Mode.EXPLICIT
    )
    try:
        for pod in (server, client):
            pod.create()
        server.spawn([sys.executable, "-c", APP_SERVER, str(app_port), "reviews-v1"])
        wait_for(lambda: can_connect(None, "127.0.0.1", app_port), what="app")
        admin = client.workdir / "proxy" / "admin.sock"
        config = explicit_proxy_bootstrap(
            admin_socket=admin,
            listen_port=proxy_port,
            domains=["reviews", "reviews:9080", "reviews.default.svc.cluster.local:9080"],
            upstream=("127.0.0.1", app_port),
        )
        path = write_json(client.workdir / "envoy.json", config)
        argv = [str(ENVOY), "-c", str(path), "--disable-hot-restart", "--concurrency", "1"]
        client.spawn([*argv, "-l", "warning"], as_proxy=True)
        wait_for(lambda: envoy_ready(admin), what="Envoy LIVE")

        # No --noproxy: curl honours http_proxy from the pod's environment.
        result = client.run(["curl", "-sS", "-m", "3", "http://reviews:9080/"])
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["pod"] == "reviews-v1"
        assert stat(admin, "http.outbound_http.downstream_rq_completed") == 1
    finally:
        for pod in (server, client):
            pod.destroy()
