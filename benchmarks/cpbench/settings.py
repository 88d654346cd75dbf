"""Cases, targets, time limits and the xDS type URLs the benchmark's processes share."""

from __future__ import annotations

import os

CASES: tuple[tuple[int, int], ...] = ((1000, 100), (1000, 1000), (1000, 2000))
TARGET_S = 1.0
TARGET_MB = 1024
LABEL_SETS = 8
CLIENTS_PER_CHANNEL = 50
SYNC_LIMIT_S = float(os.environ.get("BENCH_CP_SYNC_LIMIT", "150"))
CHANGE_LIMIT_S = float(os.environ.get("BENCH_CP_CHANGE_LIMIT", "60"))

CLUSTER = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
ENDPOINT = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
LISTENER = "type.googleapis.com/envoy.config.listener.v3.Listener"
ROUTE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
TYPES = (CLUSTER, ENDPOINT, LISTENER, ROUTE)
HCM = (
    "type.googleapis.com/"
    "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
)

Row = tuple[str, str, str, str]
