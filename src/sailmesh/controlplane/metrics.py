"""The control plane's own metrics, with Istio's (istiod's) names, for its monitoring port.

In: ADS stream events (sends, ACKs, NACKs: :class:`~sailmesh.ads.status.StreamObserver`),
pushes (when each started after the debounce, how many proxies), config events, the number
of connected streams. Out: a ``prometheus_client`` registry of this control plane (one per
instance; nothing global) and its text.

- ``pilot_xds`` (gauge): connected xDS streams;
- ``pilot_xds_pushes{type}`` (counter): responses sent, by type (``cds``, ``eds``, ``lds``,
  ``rds``, ``sds``), and those that could not be written (``cds_senderr``, ...);
- ``pilot_total_xds_rejects{type}`` (counter): responses Envoy rejected (NACKs);
- ``pilot_xds_push_time{type}`` (histogram, seconds): from a response being sent to its
  acknowledgement (what the push of that type took, proxy included);
- ``pilot_proxy_convergence_time`` (histogram, seconds): from the first change of a push to
  the new configuration of every affected proxy being ready to send;
- ``pilot_push_triggers{type}`` (counter): pushes, by reason (``config``, ``registry``, ...);
- ``pilot_k8s_cfg_events{type, event}`` (counter): config changes, by kind and
  ``add``/``update``/``delete`` (the name istiod uses for its config events);
- ``pilot_services``, ``pilot_virt_services`` (gauges): services and VirtualServices known;
- ``citadel_server_root_cert_expiry_timestamp``, ``citadel_server_cert_chain_expiry_timestamp``
  (gauges, Unix seconds; istiod's names): when the newest trusted root and the signing chain's
  first certificate to end expire (absent without a CA). Workload certificates' expiry is each
  Envoy's ``envoy_server_days_until_first_cert_expiring``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from sailmesh.ads.resources import short_name
from sailmesh.config.store import ChangeEvent
from sailmesh.telemetry.exposition import Family, Sample, render

#: istiod's buckets for push and convergence times.
PUSH_BUCKETS = (0.01, 0.1, 0.5, 1, 3, 5, 10, 20, 30)
_EVENTS = {"ADDED": "add", "MODIFIED": "update", "DELETED": "delete"}


def xds_type(type_url: str) -> str:
    return short_name(type_url).lower()


class ControlPlaneMetrics:
    """One control plane's metrics (implements :class:`~sailmesh.ads.status.StreamObserver`)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.streams = Gauge("pilot_xds", "Connected xDS streams.", registry=r)
        self.pushes = Counter("pilot_xds_pushes", "xDS responses sent.", ["type"], registry=r)
        self.rejects = Counter(
            "pilot_total_xds_rejects", "xDS responses rejected by proxies.", ["type"], registry=r
        )
        self.push_time = Histogram(
            "pilot_xds_push_time",
            "Seconds from sending an xDS response to its acknowledgement.",
            ["type"],
            buckets=PUSH_BUCKETS,
            registry=r,
        )
        self.convergence = Histogram(
            "pilot_proxy_convergence_time",
            "Seconds from a config change to the affected proxies' new config being ready.",
            buckets=PUSH_BUCKETS,
            registry=r,
        )
        self.triggers = Counter("pilot_push_triggers", "Pushes, by reason.", ["type"], registry=r)
        self.config_events = Counter(
            "pilot_k8s_cfg_events", "Config changes.", ["type", "event"], registry=r
        )
        self.services = Gauge("pilot_services", "Services known.", registry=r)
        self.virtual_services = Gauge("pilot_virt_services", "VirtualServices known.", registry=r)
        self._root_expiry: Gauge | None = None
        self._chain_expiry: Gauge | None = None

    # --- StreamObserver -----------------------------------------------------------------
    def sent(self, type_url: str) -> None:
        self.pushes.labels(xds_type(type_url)).inc()

    def acked(self, type_url: str, seconds: float) -> None:
        self.push_time.labels(xds_type(type_url)).observe(seconds)

    def nacked(self, type_url: str) -> None:
        self.rejects.labels(xds_type(type_url)).inc()

    def send_failed(self, type_url: str) -> None:
        self.pushes.labels(f"{xds_type(type_url)}_senderr").inc()

    # --- control plane events -----------------------------------------------------------
    def pushed(self, reasons: Sequence[str], seconds_since_change: float) -> None:
        for reason in reasons:
            self.triggers.labels(reason).inc()
        self.convergence.observe(max(seconds_since_change, 0.0))

    def config_changed(self, events: Sequence[ChangeEvent]) -> None:
        for event in events:
            self.config_events.labels(event.resource.kind, _EVENTS.get(event.type, "update")).inc()

    def watch(
        self,
        streams: Callable[[], int],
        services: Callable[[], int],
        virtual_services: Callable[[], int],
    ) -> None:
        """Gauges read when scraped."""
        self.streams.set_function(lambda: float(streams()))
        self.services.set_function(lambda: float(services()))
        self.virtual_services.set_function(lambda: float(virtual_services()))

    def watch_certificates(
        self, root_expiry: Callable[[], float], chain_expiry: Callable[[], float]
    ) -> None:
        """The CA's expiry gauges, read when scraped (Unix seconds)."""
        if self._root_expiry is None:
            self._root_expiry = Gauge(
                "citadel_server_root_cert_expiry_timestamp",
                "Unix time the newest trusted root certificate expires.",
                registry=self.registry,
            )
            self._chain_expiry = Gauge(
                "citadel_server_cert_chain_expiry_timestamp",
                "Unix time the first certificate of the CA's signing chain expires.",
                registry=self.registry,
            )
        assert self._chain_expiry is not None
        self._root_expiry.set_function(root_expiry)
        self._chain_expiry.set_function(chain_expiry)

    def text(self) -> bytes:
        """The Prometheus text, with istiod's names: counters without the ``_total``
        ``prometheus_client`` would add (``pilot_xds_pushes``), no ``_created`` series."""
        families = []
        for metric in self.registry.collect():
            kind = {"unknown": "untyped"}.get(metric.type, metric.type)
            family = Family(metric.name, kind, metric.documentation)
            for sample in metric.samples:
                if sample.name.endswith("_created"):
                    continue
                name = metric.name if kind == "counter" else sample.name
                labels = tuple(sorted(sample.labels.items()))
                family.samples.append(Sample(name, labels, sample.value))
            families.append(family)
        return render(families).encode()
