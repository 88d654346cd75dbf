"""Proxy sync status as JSON records (what ``sailctl proxy-status`` prints)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sailmesh.ads.resources import CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET, short_name
from sailmesh.ads.status import ProxyStatus

COLUMNS = (CLUSTER, LISTENER, ENDPOINT, ROUTE, SECRET)


def proxy_status_records(statuses: Sequence[ProxyStatus]) -> list[dict[str, Any]]:
    out = []
    for st in statuses:
        types: dict[str, Any] = {}
        for type_url in COLUMNS:
            ts = st.types.get(type_url)
            record: dict[str, Any] = {"state": str(st.state(type_url))}
            if ts is not None:
                record.update(
                    sent=ts.sent_version, acked=ts.acked_version, desired=ts.desired_version
                )
                if ts.nack is not None:
                    record["nack"] = {"version": ts.nack.version, "message": ts.nack.message}
            types[short_name(type_url)] = record
        out.append(
            {
                "node": st.node_id,
                "stream": st.stream_id,
                "mode": st.mode,
                "connectedAt": st.connected_at,
                "types": types,
            }
        )
    return out
