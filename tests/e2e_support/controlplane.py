"""A sailmesh :class:`ControlPlane` on its own event-loop thread, for synchronous tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from e2e_support.loop_thread import LoopThread
from sailmesh.app.server import MeshServer
from sailmesh.controlplane.server import ControlPlane, ControlPlaneSettings
from sailmesh.runtime.envoy import EnvoyProcess
from sailmesh.xds.bootstrap import TcpAddress, render_bootstrap, sidecar_node_id
from sailmesh.xds.node import node_metadata_for


class ControlPlaneThread(LoopThread):
    """Start/stop (restartable on the same ADS port and state dir) a control plane."""

    def __init__(self, state_dir: Path, api_socket: Path | None = None) -> None:
        super().__init__("controlplane-loop", timeout=20.0)
        self.state_dir = state_dir
        self.api_socket = api_socket
        self.server: MeshServer | None = None
        self.cp: ControlPlane | None = None
        self.port = 0

    def start(self) -> ControlPlane:
        settings = ControlPlaneSettings(
            state_dir=self.state_dir,
            ads_address=f"127.0.0.1:{self.port}",
            debounce_quiet=0.05,
            debounce_max=1.0,
        )
        self.server = MeshServer(settings, self.api_socket)
        self.cp = self.server.cp
        self.port = self.call(self.server.start())
        return self.cp

    def stop(self) -> None:
        if self.server is not None:
            self.call(self.server.stop())
            self.server = None
            self.cp = None

    def apply(self, text: str) -> dict[str, Any]:
        assert self.server is not None
        return self.server.api.apply_yaml(text, "test.yaml", "default")

    def delete(self, text: str) -> dict[str, Any]:
        assert self.server is not None
        return self.server.api.delete_yaml(text, "test.yaml", "default", ignore_not_found=True)


def start_sidecar(
    workdir: Path,
    ads_port: int,
    *,
    name: str,
    namespace: str = "default",
    labels: dict[str, str] | None = None,
    explicit_port: int,
    ip: str = "127.0.0.1",
    delta: bool = False,
) -> EnvoyProcess:
    """A real Envoy sidecar in explicit mode: an http_proxy listener on 127.0.0.1:explicit_port."""
    node_id = sidecar_node_id(ip, name, namespace)
    bootstrap = render_bootstrap(
        node_id=node_id,
        cluster=f"{name}.{namespace}",
        xds_address=TcpAddress("127.0.0.1", ads_port),
        metadata=node_metadata_for(
            namespace,
            labels or {"app": name},
            "default",
            "NONE",
            explicit_port,
            access_log=str(workdir / f"{name}-access.log"),
        ),
        delta=delta,
        admin_port=0,
    )
    config = workdir / f"{name}-envoy.json"
    config.write_text(json.dumps(bootstrap))
    envoy = EnvoyProcess(
        config,
        log_path=workdir / f"{name}-envoy.log",
        log_level="warning",
        extra_args=["--concurrency", "1"],
    )
    envoy.start()
    return envoy
