"""Pure translation to Envoy configuration; no I/O.

In: a proxy's identity and the mesh snapshot (and, for :mod:`~sailmesh.xds.bootstrap`, the
node id, metadata and the control plane's address). Out: Envoy resources per type URL
(``{type_url: {name: protobuf message}}``) for :mod:`sailmesh.ads`, and bootstrap documents
(plain dicts ready for JSON) for the runtime to start Envoy with.

Sidecar translation: :func:`sailmesh.xds.translate.translate` (and one function per type) over a
:class:`~sailmesh.xds.scope.ProxyScope`; ``clusters``/``endpoints``/``routes``/``listeners`` build
each type, ``names`` holds every Istio-compatible name, ``simulate`` walks the output the way
Envoy routes a request (for tests and explanations).
"""
