"""Add-ons of a local mesh, started on request (``sailctl up --addons prometheus``).

``prometheus``: the real Prometheus server (Debian's ``/usr/bin/prometheus``) in the pod
network's node namespace, scraping every pod's merged metrics (15020) and the control plane's
monitoring port, which :class:`~sailmesh.app.telemetry.MeshMonitoring` then serves on
127.0.0.1:15014 of the node namespace; it loads the mesh's alerting rules
(:mod:`sailmesh.telemetry.prometheus`) and its UI is forwarded to 127.0.0.1 (9090 when free).
Wiring only: the runtime runs the process (:mod:`sailmesh.runtime.addons`), telemetry writes
its configuration.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from dataclasses import dataclass

from sailmesh.app.telemetry import METRICS_PATH, MONITORING_PORT, TARGETS_PATH, MeshMonitoring
from sailmesh.runtime.addons import (
    AddonSpec,
    AddonUnavailable,
    NodeProcess,
    listen_in_node,
    node_netns_file,
)
from sailmesh.runtime.host import RuntimeHost
from sailmesh.runtime.sandbox import netns
from sailmesh.runtime.sandbox.forward import Forwarder
from sailmesh.telemetry import prometheus

log = logging.getLogger("sailmesh.app")

KNOWN = ("prometheus",)
PROMETHEUS_BINARY = "/usr/bin/prometheus"


def check_addons(wanted: tuple[str, ...], host: RuntimeHost) -> None:
    """Refuse, in one line, add-ons that cannot run here (unknown, no node namespace in this
    sandbox mode, binary missing)."""
    unknown = [a for a in wanted if a not in KNOWN]
    if unknown:
        raise AddonUnavailable(f"unknown add-on {unknown[0]!r}; known: {', '.join(KNOWN)}")
    if not wanted:
        return
    node_netns_file(host.names, host.mode)
    if "prometheus" in wanted and shutil.which(PROMETHEUS_BINARY) is None:
        raise AddonUnavailable(
            f"the prometheus add-on needs {PROMETHEUS_BINARY} (Debian package 'prometheus'; "
            "scripts/setup.sh installs it as root)"
        )


@dataclass
class RunningAddon:
    name: str
    process: NodeProcess
    forwarder: Forwarder
    url: str


def prometheus_spec(binary: str, scrape_interval: str) -> AddonSpec:
    monitoring = f"127.0.0.1:{MONITORING_PORT}"
    listen = f"127.0.0.1:{prometheus.PROMETHEUS_PORT}"
    files = {
        prometheus.CONFIG_FILE: prometheus.config_yaml(
            monitoring, TARGETS_PATH, METRICS_PATH, scrape_interval, listen
        ),
        prometheus.RULES_FILE: prometheus.rules_yaml(),
    }
    argv = (
        binary,
        "--config.file={dir}/" + prometheus.CONFIG_FILE,
        "--storage.tsdb.path={dir}/data",
        "--storage.tsdb.retention.time=1d",
        f"--web.listen-address={listen}",
        "--log.level=warn",
    )
    return AddonSpec("prometheus", argv, files, prometheus.PROMETHEUS_PORT, "/-/ready")


class Addons:
    """The add-ons of one mesh run; :meth:`start` them after the pods, :meth:`stop` before."""

    def __init__(
        self,
        host: RuntimeHost,
        monitoring: MeshMonitoring,
        wanted: tuple[str, ...],
        scrape_interval: str = "5s",
    ) -> None:
        self.host = host
        self.monitoring = monitoring
        self.wanted = wanted
        self.scrape_interval = scrape_interval
        self.running: dict[str, RunningAddon] = {}

    async def start(self) -> None:
        if not self.wanted:
            return
        check_addons(self.wanted, self.host)
        names, mode = self.host.names, self.host.mode
        await asyncio.to_thread(self.host.strategy.setup_node)
        sock = await asyncio.to_thread(listen_in_node, names, mode, "127.0.0.1", MONITORING_PORT)
        await self.monitoring.serve_monitoring(sock)
        if "prometheus" in self.wanted:
            spec = prometheus_spec(PROMETHEUS_BINARY, self.scrape_interval)
            self.running["prometheus"] = await self._run(spec)

    async def _run(self, spec: AddonSpec) -> RunningAddon:
        process = NodeProcess(self.host.names, spec)
        await asyncio.to_thread(process.start)
        try:
            await asyncio.to_thread(process.wait_ready)
            node = self.host.names.node_ns
            forwarder = await self._forward(node, spec.port)
        except BaseException:
            await asyncio.to_thread(process.stop)
            raise
        url = f"http://127.0.0.1:{forwarder.port}"
        log.info("%s: %s", spec.name, url)
        return RunningAddon(spec.name, process, forwarder, url)

    async def _forward(self, node_ns: str, port: int) -> Forwarder:
        netns_file = netns.netns_path(node_ns)
        forwarder = Forwarder(netns_file, "127.0.0.1", port, "127.0.0.1", port)
        try:
            await forwarder.start()
        except OSError:
            forwarder = Forwarder(netns_file, "127.0.0.1", port, "127.0.0.1", 0)
            await forwarder.start()
        return forwarder

    def urls(self) -> dict[str, str]:
        return {name: addon.url for name, addon in self.running.items()}

    async def stop(self) -> None:
        for addon in list(self.running.values()):
            await addon.forwarder.stop()
            await asyncio.to_thread(addon.process.stop)
        self.running.clear()
