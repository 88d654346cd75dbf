"""Pure translation to Envoy configuration; no I/O.

In: a proxy's identity and the mesh snapshot (and, for :mod:`~sailmesh.xds.bootstrap`, the
node id, metadata and the control plane's address). Out: Envoy resources per type URL
(``{type_url: {name: protobuf message}}``) for :mod:`sailmesh.ads`, and bootstrap documents
(plain dicts ready for JSON) for the runtime to start Envoy with.
"""
