"""A pod's merged metrics view (what its port 15020 serves; pure).

In: the text of the pod's Envoy ``/stats/prometheus`` (or None: no proxy, or it did not
answer), the app's own metrics text (or None), the proxy as a peer, the peer directory and the
proxy's metrics policy. Out: one Prometheus text: Istio's standard metrics
(:mod:`~sailmesh.telemetry.aggregate`), then Envoy's own stats without the raw ``sailmesh``
series they are made from (those stay on 15090), then the app's metrics as the app wrote them.
Given the proxy's :class:`~sailmesh.telemetry.continuity.Continuity`, its counters survive
listener updates.
"""

from __future__ import annotations

from sailmesh.telemetry import exposition, raw
from sailmesh.telemetry.aggregate import istio_families
from sailmesh.telemetry.continuity import Continuity
from sailmesh.telemetry.peers import Peer, PeerDirectory
from sailmesh.telemetry.policy import MetricsPolicy


def merged_view(
    envoy_text: str | None,
    app_text: str | None,
    me: Peer | None,
    directory: PeerDirectory,
    policy: MetricsPolicy | None = None,
    continuity: Continuity | None = None,
    extra: list[exposition.Family] | None = None,
) -> str:
    """``continuity``: the proxy's raw samples across scrapes (see :mod:`.continuity`);
    ``extra``: raw families counted outside Envoy (the periodic TCP bytes,
    :mod:`.tcp_periodic`), named with Envoy's."""
    parts: list[str] = []
    if envoy_text:
        families = exposition.parse(envoy_text) + list(extra or [])
        if continuity is not None:
            families = continuity.apply(families)
        parts.append(exposition.render(istio_families(families, me, directory, policy)))
        own = [f for f in families if not f.name.startswith(raw.ENVOY_PROMETHEUS_PREFIX)]
        parts.append(exposition.render(own))
    if app_text:
        parts.append(app_text if app_text.endswith("\n") else app_text + "\n")
    return "".join(parts)
