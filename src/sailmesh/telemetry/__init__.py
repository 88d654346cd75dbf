"""Istio's standard metrics, access-log formats, tracing and the Telemetry API, for upstream
Envoy.

Pure (no I/O, like :mod:`sailmesh.ads`): metric names, types, label sets and buckets
(:mod:`~sailmesh.telemetry.standard`), what each proxy counts and how
(:mod:`~sailmesh.telemetry.raw`), the Prometheus text format
(:mod:`~sailmesh.telemetry.exposition`), who is at an address
(:mod:`~sailmesh.telemetry.peers`), the aggregation into Istio's series
(:mod:`~sailmesh.telemetry.aggregate`), TCP bytes reported while connections are open
(:mod:`~sailmesh.telemetry.tcp_periodic`), the Telemetry API's precedence
(:mod:`~sailmesh.telemetry.policy`), access-log formats (:mod:`~sailmesh.telemetry.accesslog`),
what each listener traces (:mod:`~sailmesh.telemetry.tracing`), the recent traces the proxies
report (:mod:`~sailmesh.telemetry.traces`, in memory, no I/O of its own) and one trace's
waterfall layout (:mod:`~sailmesh.telemetry.waterfall`, drawn by the CLI and the dashboard),
the Prometheus add-on's configuration, rules and dashboards
(:mod:`~sailmesh.telemetry.prometheus`), and the
dashboard's service graph: Istio's series as graph hops (:mod:`~sailmesh.telemetry.traffic`),
rates over windows from a bounded history (:mod:`~sailmesh.telemetry.history`), nodes and
edges with their health (:mod:`~sailmesh.telemetry.graph`). In: Envoy's ``/stats/prometheus``
text, OTLP span exports, the peers the control plane and runtime know, Telemetry objects. Out:
Istio's metrics as Prometheus text, traces as plain dicts, and the specs :mod:`sailmesh.xds`
turns into Envoy access loggers and tracers.

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

Why not the alternatives (measured by ``benchmarks/bench_telemetry.py`` on this 2-core machine,
shared and loaded, so the figures are rough): the stats loggers add about 5-10 us of Envoy CPU
per request to a proxy that spends 70-110 us on it; streaming every request over Envoy's gRPC
access logging (``http_grpc``, buffered) instead costs Envoy about as much, plus about 20 us of
the control plane's Python per entry to decode it and fill Istio's labels. A hop is reported
twice (source and destination), so 5,000 requests/s through the mesh would take 10,000 entries
and a fifth of a core of the control plane's single Python thread, shared with ADS, and grow
with the traffic; here the control plane works per scrape (about 5 ms for a proxy with 60 raw
series), whatever the traffic, while each proxy pays for its own requests. Istio's
``x-envoy-peer-metadata`` headers would need a filter to read, strip and re-add them on every
request and do nothing for plain TCP; the peer address is on every request and connection
already, and only the control plane can map it to a workload anyway.

Two exceptions to "Envoy counts", where Envoy's operators fall short (each module says what
was measured): gRPC message counts come from the gRPC statistics filter's per-stream filter
state as a tag the control plane multiplies by (:mod:`~sailmesh.telemetry.raw`), and with a
Telemetry ``reportingInterval`` the TCP bytes of open connections reach the control plane as
periodic gRPC access logs it turns into deltas (:mod:`~sailmesh.telemetry.tcp_periodic`).

Two costs of naming at scrape time: a series is attributed to whichever workload owns its
peer address at that moment (the runtime hands pod addresses out round robin, so an address is
not reused until the others have been); and Envoy drops an access logger's stats with its
listener (a Telemetry change, a new inbound port replaces it), so the control plane carries
what vanished or restarted raw series had counted (:mod:`~sailmesh.telemetry.continuity`):
Istio's series restart only when the proxy or the control plane does, which Prometheus'
``rate``/``increase`` take in their stride.
"""
