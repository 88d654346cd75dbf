"""Keeping a proxy's raw counters monotonic across listener updates (pure, stateful).

Envoy drops the stats of a listener's access loggers with the listener: when a Telemetry change
or a new inbound port replaces a filter chain, its raw series vanish, and come back from zero
with the next request. Summed into one Istio series with series that did not restart (two pods
of a workload, reached through another listener), that would show as a decrease Prometheus
takes for a reset, and ``rate`` would count the survivors twice. :class:`Continuity` remembers,
per raw sample (family, labels, bucket), the last value seen and what earlier lives of the
sample had counted: a sample that goes down restarted, one that vanished is carried at its last
value, so what the merged view sums only ever grows (as Istio's own stats, which live as long as
the proxy).

In: the raw families of one scrape of one proxy. Out: the same families with each sample's value
plus what it counted before it restarted, and the vanished samples carried along.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from sailmesh.telemetry import raw
from sailmesh.telemetry.exposition import Family, Labels, Sample

_Key = tuple[str, str, Labels]  # (family, sample name, labels)


@dataclass
class _Track:
    last: float = 0.0
    carried: float = 0.0  # what earlier lives of the sample counted
    vanished: bool = False  # absent from the last scrape: it comes back as a new life


@dataclass
class Continuity:
    """The raw samples of one proxy, across its scrapes (thread-safe)."""

    _tracks: dict[_Key, _Track] = field(default_factory=dict)
    _types: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def apply(self, families: Iterable[Family]) -> list[Family]:
        with self._lock:
            out: list[Family] = []
            seen: set[_Key] = set()
            by_name: dict[str, Family] = {}
            for family in families:
                if raw.raw_metric_name(family.name) is None:
                    out.append(family)
                    continue
                self._types[family.name] = family.type
                kept = by_name[family.name] = Family(family.name, family.type, family.help)
                for sample in family.samples:
                    key = (family.name, sample.name, sample.labels)
                    seen.add(key)
                    kept.samples.append(
                        Sample(sample.name, sample.labels, self._seen(key, sample.value))
                    )
            for key, track in self._tracks.items():
                if key in seen:
                    continue
                track.vanished = True
                name, sample_name, labels = key
                carrier = by_name.get(name)
                if carrier is None:
                    carrier = by_name[name] = Family(name, self._types.get(name, "counter"))
                carrier.samples.append(Sample(sample_name, labels, track.carried + track.last))
            return out + list(by_name.values())

    def _seen(self, key: _Key, value: float) -> float:
        track = self._tracks.get(key)
        if track is None:
            track = self._tracks[key] = _Track()
        elif track.vanished or value < track.last:  # a new life: its listener was replaced
            track.carried += track.last
        track.last, track.vanished = value, False
        return track.carried + value
