"""Pure translation to Envoy configuration; no I/O.

In: a proxy's identity and the mesh snapshot (and, for :mod:`~sailmesh.xds.bootstrap`, the
node id, metadata and the control plane's address). Out: Envoy resources per type URL
(``{type_url: {name: protobuf message}}``, type URLs from :mod:`sailmesh.typeurls`) for the
control plane to serve through :mod:`sailmesh.ads` (which this package never imports), and
bootstrap documents (plain dicts ready for JSON) that :mod:`sailmesh.app` renders for the
runtime.

:mod:`~sailmesh.xds.generate` is the entry: a ``Generator`` per type URL in one table,
``generate(proxy, snapshot)``, and the partial builds the control plane reuses results with.
``clusters``/``endpoints``/``routes``/``listeners`` build each type over a
:class:`~sailmesh.xds.scope.ProxyScope`, ``gateway`` the gateways', ``names`` holds every
Istio-compatible name, ``node`` reads and writes Envoy node metadata, ``simulate`` walks the
output the way Envoy routes a request (for tests and explanations), ``translate`` is the
convenience entry tests and tools use. The other way round, :mod:`~sailmesh.xds.explain` maps
an access-log line's response flags back to the config knob behind them and
:mod:`~sailmesh.xds.describe` the config that shapes traffic to a pod (``sailctl explain``,
``sailctl x describe``).
"""
