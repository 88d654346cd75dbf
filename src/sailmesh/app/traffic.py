"""The control plane's own traffic samples for the dashboard: every few seconds, each connected
proxy's Istio series, folded into one :class:`~sailmesh.telemetry.traffic.TrafficSample` and
kept in a bounded :class:`~sailmesh.telemetry.history.TrafficHistory`.

In: the running pods' Envoy stats (read by the runtime, as for the 15020 scrapes) and the
control plane's naming (:meth:`~sailmesh.controlplane.telemetry.TelemetryView.istio`). Out: the
history the dashboard's graph and charts read; so the dashboard needs no Prometheus add-on.

Cost: one scrape and one naming pass per proxy per interval (about 5 ms of Python for a proxy
with 60 raw series), on a worker thread; the loop skips a round rather than queueing up when a
round takes longer than the interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sailmesh.controlplane.telemetry import TelemetryView
from sailmesh.telemetry.history import TrafficHistory
from sailmesh.telemetry.traffic import TrafficSample, add_proxy

log = logging.getLogger("sailmesh.app")

#: ``(pod, namespace) -> Envoy stats text`` (None: no such pod, or its Envoy did not answer).
StatsReader = Callable[[str, str], str | None]
DEFAULT_INTERVAL = 5.0


def pod_of(node_id: str) -> tuple[str, str] | None:
    """``sidecar~10.0.0.5~reviews-v1-0.default~default.svc.cluster.local`` -> (pod, ns)."""
    parts = node_id.split("~")
    if len(parts) != 4:
        return None
    pod, _, namespace = parts[2].rpartition(".")
    return (pod, namespace) if pod and namespace else None


class TrafficSampler:
    def __init__(
        self,
        view: TelemetryView,
        read_stats: StatsReader,
        interval: float = DEFAULT_INTERVAL,
        history: TrafficHistory | None = None,
    ) -> None:
        self.view = view
        self.read_stats = read_stats
        self.interval = interval
        self.history = history if history is not None else TrafficHistory()
        self._task: asyncio.Task[None] | None = None

    def sample_once(self) -> TrafficSample:
        """One round: every connected proxy's series, folded (blocking: call on a thread)."""
        sample: TrafficSample = {}
        for node_id in sorted(self.view.cp.pusher.peers()):
            where = pod_of(node_id)
            text = self.read_stats(*where) if where is not None else None
            if text:
                add_proxy(sample, self.view.istio(node_id, text))
        self.history.add(self.view.cp.clock.monotonic(), sample)
        return sample

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="traffic-sampler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            started = asyncio.get_running_loop().time()
            try:
                await asyncio.to_thread(self.sample_once)
            except Exception as exc:  # a bad round must not end the sampling
                log.warning("traffic sample failed: %s: %s", type(exc).__name__, exc)
            spent = asyncio.get_running_loop().time() - started
            await asyncio.sleep(max(self.interval - spent, self.interval / 4))
