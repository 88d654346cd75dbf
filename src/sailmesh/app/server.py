"""A control plane with its API: :class:`MeshServer` starts the control plane and, when given
a socket path, serves the control-plane API on it (what ``sailctl`` talks to); with the mesh's
CA (``identity``) the API also answers ``/v1/ca`` and root rotation."""

from __future__ import annotations

from pathlib import Path

from sailmesh.app.api import ApiServer
from sailmesh.app.backend import MeshApi, RuntimeBackend
from sailmesh.app.identity import MeshIdentity
from sailmesh.clock import Clock
from sailmesh.controlplane.server import ControlPlane, ControlPlaneSettings


class MeshServer:
    """Start and stop it on an asyncio loop."""

    def __init__(
        self,
        settings: ControlPlaneSettings,
        api_socket: Path | None = None,
        runtime: RuntimeBackend | None = None,
        clock: Clock | None = None,
        identity: MeshIdentity | None = None,
    ) -> None:
        self.cp = ControlPlane(settings, clock)
        self.api = MeshApi(self.cp, runtime, identity)
        self.api_socket = api_socket
        self._api_server: ApiServer | None = None

    async def start(self) -> int:
        """Start the control plane, then the API; returns the ADS TCP port."""
        port = await self.cp.start()
        if self.api_socket is not None:
            self._api_server = ApiServer(self.api, self.api_socket)
            self._api_server.start()
        return port

    async def stop(self) -> None:
        if self._api_server is not None:
            self._api_server.stop()
            self._api_server = None
        await self.cp.stop()
