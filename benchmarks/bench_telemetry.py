"""What Istio's metrics cost, measured on real Envoy with wrk (``BENCH_TELEMETRY_SECONDS``
per case, default 5).

One Envoy (concurrency 1, like a sidecar) proxies HTTP through an inbound-style connection
manager to a second Envoy answering directly; wrk loads it at 1 and 16 connections:

- ``off``: no access logger at all;
- ``stats``: sailmesh's design, the stats access loggers of one inbound listener exactly as
  :mod:`sailmesh.xds` builds them (a counter and three histograms, 9 tags each);
- ``als``: the alternative, every request streamed over gRPC access logging
  (``envoy.access_loggers.http_grpc``, buffered) to a Python ALS server in this process that
  decodes and aggregates each entry by peer and status, as the control plane would; its CPU
  time per second of load is measured too.

And the control plane's side of sailmesh's design: one merged view (parse Envoy's text,
name and sum the series) of a proxy with 60 raw series.
"""

from __future__ import annotations

import bisect
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from envoy.service.accesslog.v3 import als_pb2, als_pb2_grpc
from google.protobuf import json_format

from sailmesh.runtime.envoy import EnvoyProcess, find_envoy
from sailmesh.telemetry.aggregate import istio_labels
from sailmesh.telemetry.merge import merged_view
from sailmesh.telemetry.peers import Peer, PeerDirectory
from sailmesh.telemetry.policy import MetricsPolicy
from sailmesh.telemetry.standard import ALL, BUCKETS, REQUEST_COUNT
from sailmesh.xds.stats import stats_loggers

Row = tuple[str, str, str, str]
SECONDS = float(os.environ.get("BENCH_TELEMETRY_SECONDS", "5"))
HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listener(port: int, route: dict[str, Any], logs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": f"l{port}",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
        "filter_chains": [{"filters": [{
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": {
                "@type": HCM, "stat_prefix": "inbound_0.0.0.0_9080", "access_log": logs,
                "route_config": {"virtual_hosts": [{"name": "a", "domains": ["*"], "routes": [
                    {"match": {"prefix": "/"}, **route}]}]},
                "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {"@type": ROUTER}}],
            },
        }]}],
    }  # fmt: skip


def _cluster(name: str, port: int, http2: bool = False) -> dict[str, Any]:
    cluster: dict[str, Any] = {
        "name": name, "type": "STATIC", "connect_timeout": "1s",
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint": {
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}]},
    }  # fmt: skip
    if http2:
        key = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
        cluster["typed_extension_protocol_options"] = {
            key: {
                "@type": f"type.googleapis.com/{key}",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        }
    return cluster


def _stats_logs() -> list[dict[str, Any]]:
    emission = MetricsPolicy().emission("destination", "reviews.default.svc.cluster.local")
    return [json_format.MessageToDict(log) for log in stats_loggers(emission.http_loggers())]


def _als_logs() -> list[dict[str, Any]]:
    return [{
        "name": "envoy.access_loggers.http_grpc",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig",
            "common_config": {
                "log_name": "sailmesh", "transport_api_version": "V3",
                "grpc_service": {"envoy_grpc": {"cluster_name": "als"}},
                "buffer_flush_interval": "0.2s", "buffer_size_bytes": 16384,
            },
        },
    }]  # fmt: skip


_ME = Peer("reviews-v1", "default", {"app": "reviews", "version": "v1"})
_DIRECTORY = PeerDirectory.build(
    [("127.0.0.1", Peer("productpage-v1", "default", {"app": "productpage"}))]
)


class _Als(als_pb2_grpc.AccessLogServiceServicer):  # type: ignore[misc]
    """Does per entry what a control plane aggregating access logs would: decode it, name the
    peer and fill Istio's labels (:func:`~sailmesh.telemetry.aggregate.istio_labels`), count
    the request and its duration bucket."""

    def __init__(self) -> None:
        self.counts: dict[tuple[tuple[str, str], ...], list[float]] = {}
        self.entries = 0

    def StreamAccessLogs(self, request_iterator: Any, context: Any) -> Any:
        for message in request_iterator:
            for entry in message.http_logs.log_entry:
                common = entry.common_properties
                tags = {
                    "reporter": "destination",
                    "peer": common.downstream_direct_remote_address.socket_address.address,
                    "cluster": common.upstream_cluster,
                    "service": "reviews.default.svc.cluster.local",
                    "response_code": str(entry.response.response_code.value),
                    "response_flags": "-",
                }
                key = tuple(istio_labels(REQUEST_COUNT, tags, _ME, _DIRECTORY).items())
                millis = common.time_to_last_downstream_tx_byte.ToNanoseconds() / 1e6
                found = self.counts.setdefault(key, [0.0] * (len(BUCKETS) + 2))
                found[0] += 1
                found[1 + bisect.bisect_left(BUCKETS, millis)] += 1
                self.entries += 1
        return als_pb2.StreamAccessLogsResponse()


def _wrk(port: int, connections: int) -> tuple[int, float, str]:
    """(requests, requests per second, p99) of one wrk run."""
    out = subprocess.run(
        ["wrk", "-t", "2" if connections > 1 else "1", "-c", str(connections),
         "-d", f"{SECONDS:g}s", "--latency", f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, timeout=SECONDS + 30, check=True,
    ).stdout  # fmt: skip
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    return total, rps, p99.group(1) if p99 else "?"


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _case(workdir: Path, name: str, logs: list[dict[str, Any]], als_port: int | None) -> Envoy:
    upstream, front = _port(), _port()
    clusters = [_cluster("upstream", upstream)]
    if als_port is not None:
        clusters.append(_cluster("als", als_port, http2=True))
    direct = {"direct_response": {"status": 200, "body": {"inline_string": "x" * 200}}}
    config = {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [_listener(upstream, direct, []), _listener(front, {"route": {"cluster": "upstream"}}, logs)],
            "clusters": clusters,
        },
    }  # fmt: skip
    path = workdir / f"{name}.json"
    path.write_text(json.dumps(config))
    envoy = EnvoyProcess(path, log_path=workdir / f"{name}.log", log_level="error",
                         extra_args=["--concurrency", "1", "--component-log-level", "misc:error"])  # fmt: skip
    envoy.start()
    envoy.wait_ready()
    return Envoy(envoy, front)


class Envoy:
    def __init__(self, process: EnvoyProcess, port: int) -> None:
        self.process, self.port = process, port


REPEATS = int(os.environ.get("BENCH_TELEMETRY_REPEATS", "3"))


def _data_plane() -> list[Row]:
    """Each case at 1 and 16 connections, the cases interleaved and repeated (the machine is
    shared): the median of Envoy's CPU per request, of its rate, and of the Python per entry."""
    if shutil.which("wrk") is None:
        return [("telemetry", "data plane", "wrk not installed", "")]
    find_envoy()
    als = _Als()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    als_pb2_grpc.add_AccessLogServiceServicer_to_server(als, server)
    als_port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    cases = {"off": [], "stats": _stats_logs(), "als": _als_logs()}
    samples: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            envoys = {
                n: _case(Path(tmp), n, logs, als_port if n == "als" else None)
                for n, logs in cases.items()
            }
            try:
                for _ in range(REPEATS):
                    for name, envoy in envoys.items():
                        for connections in (1, 16):
                            samples.setdefault((name, connections), []).append(
                                _measure(envoy, als, connections)
                            )
            finally:
                for envoy in envoys.values():
                    envoy.process.stop()
    finally:
        server.stop(0)
    rows: list[Row] = []
    for (name, connections), found in samples.items():
        envoy_us, rps, python_us = (statistics.median(x[i] for x in found) for i in range(3))
        result = f"{envoy_us:.0f} us Envoy CPU/request, {rps:,.0f} rps"
        if name == "als":
            result += f"; + {python_us:.0f} us Python CPU/entry in the control plane"
        rows.append(("telemetry", f"{name}, {connections} conn", result, ""))
    return rows


def _measure(envoy: Envoy, als: _Als, connections: int) -> tuple[float, float, float]:
    pid = envoy.process.pid or 0
    cpu, entries, envoy_cpu = _cpu(), als.entries, _process_cpu(pid)
    total, rps, _ = _wrk(envoy.port, connections)
    time.sleep(0.3)  # the last buffered entries
    envoy_us = (_process_cpu(pid) - envoy_cpu) / total * 1e6
    got = als.entries - entries
    python_us = (_cpu() - cpu) / got * 1e6 if got else 0.0
    return envoy_us, rps, python_us


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _merge() -> list[Row]:
    peers = [(f"10.244.0.{i}", Peer(f"w{i}", "default", {"app": f"a{i}"})) for i in range(2, 22)]
    directory = PeerDirectory.build(peers)
    lines = []
    for metric in ALL[:1]:
        lines.append(f"# TYPE envoy_sailmesh_{metric.name} counter")
        for i in range(2, 22):
            for code in ("200", "404", "503"):
                lines.append(
                    f'envoy_sailmesh_{metric.name}{{reporter="destination",peer="10.244.0.{i}",'
                    f'cluster="inbound|9080||",service="s.default.svc.cluster.local",'
                    f'response_code="{code}",response_flags="-"}} {i * 7}'
                )
    text = "\n".join(lines) + "\n" + "envoy_server_live 1\n" * 1
    me = Peer("reviews-v1", "default", {"app": "reviews"})
    started = time.perf_counter()
    runs = 200
    for _ in range(runs):
        merged_view(text, None, me, directory)
    each = (time.perf_counter() - started) / runs
    return [("telemetry", "merged view of 60 raw series (control plane, per scrape)",
             f"{each * 1000:.2f} ms", "< 10 ms")]  # fmt: skip


def run() -> list[Row]:
    return [*_data_plane(), *_merge()]


if __name__ == "__main__":
    for row in run():
        print("  ".join(row))
