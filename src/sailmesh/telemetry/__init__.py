"""Istio's standard metrics, access-log formats and the Telemetry API, for upstream Envoy.

Pure (no I/O, like :mod:`sailmesh.ads`): metric names, types, label sets and buckets
(:mod:`~sailmesh.telemetry.standard`), what each proxy counts and how
(:mod:`~sailmesh.telemetry.raw`), the Prometheus text format
(:mod:`~sailmesh.telemetry.exposition`), who is at an address
(:mod:`~sailmesh.telemetry.peers`), the aggregation into Istio's series
(:mod:`~sailmesh.telemetry.aggregate`), the Telemetry API's precedence
(:mod:`~sailmesh.telemetry.policy`), access-log formats (:mod:`~sailmesh.telemetry.accesslog`)
and the Prometheus add-on's configuration, rules and dashboards
(:mod:`~sailmesh.telemetry.prometheus`). In: Envoy's ``/stats/prometheus`` text, the peers
the control plane and runtime know, Telemetry objects. Out: Istio's metrics as Prometheus
text, and the specs :mod:`sailmesh.xds` turns into Envoy access loggers.

Design: "Envoy counts, the control plane names". Upstream Envoy has no Istio ``stats`` or
``metadata_exchange`` filter, yet each reporter must know the workload at the other end.
Every sidecar and gateway counts requests and connections itself with Envoy's stats access
logger (``envoy.access_loggers.stats``) on its inbound and outbound HTTP connection managers
and TCP proxies: one counter or histogram per Istio metric, tagged with what the proxy knows
at the end of a request (``reporter``, response code and flags, gRPC status, the upstream
cluster, the peer certificate's URI SAN and the *peer address*: the downstream remote address
for ``reporter=destination``, the upstream host for ``reporter=source``). Those raw series
(``envoy_sailmesh_*`` on 15090) are turned into Istio's series when the pod's 15020 is scraped:
the control plane maps each peer address to a workload through what it knows (connected
proxies' node metadata, the registry's workloads), fills Istio's 25 labels in Istio's order and
sums series that fall together (two pods of one workload). ``connection_security_policy`` is
``mutual_tls`` when the connection carried a peer certificate on both ends (Istio's rule).

Why not the alternatives (measured, see ``benchmarks/bench_telemetry.py``):

- gRPC access-log streaming (``http_grpc``/``tcp_grpc``) to the control plane puts a Python
  decode and aggregation on every request of every proxy, twice per hop (source and
  destination); at thousands of requests per second that is most of a core of the machine's
  two, and it grows with traffic. Here the per-request work stays in Envoy's C++ (a few format
  evaluations per stat) and the control plane's work grows with the number of *series*, once
  per scrape.
- Istio's ``x-envoy-peer-metadata`` headers need a filter that reads, strips and re-adds
  them on every request and do nothing for plain TCP; the peer address is on every request
  and connection already, and only the control plane can map it to a workload anyway.

The cost of naming at scrape time: a series is attributed to whichever workload owns its peer
address at that moment. The runtime hands out pod addresses round robin, so an address is not
reused until the others are, and Envoy drops series of removed listeners with them.
"""
