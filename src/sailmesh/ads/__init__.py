"""The Aggregated Discovery Service: serves per-proxy Envoy resources over gRPC.

In: :class:`~sailmesh.ads.resources.ResourceSnapshot` objects (opaque protobuf resources per
type URL of :mod:`sailmesh.typeurls`, built by ``xds``, which this package never imports) set
per node id on a :class:`~sailmesh.ads.cache.SnapshotCache`.
Out: state-of-the-world and delta xDS responses to Envoy (pushed clusters and endpoints
first, listeners and routes once those are acknowledged), and per-proxy sync status
(:class:`~sailmesh.ads.status.ProxyStatus`: SYNCED, STALE, NOT SENT, NACKED with Envoy's
error). The protocol logic (:mod:`~sailmesh.ads.stream`, :mod:`~sailmesh.ads.delta`) does no
I/O; :mod:`~sailmesh.ads.server` is the grpc.aio shell. This package knows no Istio kinds.
"""
