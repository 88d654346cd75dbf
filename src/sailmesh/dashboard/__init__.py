"""The dashboard: a live service graph, traffic, config, proxies and traces in the browser
(``sailctl dashboard``), served by the control-plane process on 127.0.0.1.

In: the control plane (store, registry, snapshot, proxy status, trace store), the traffic
history it samples from the proxies' own metrics (:mod:`sailmesh.app.traffic`), and the
control-plane API's runtime calls (a pod's Envoy admin). Out: one page (``static/``) and the
JSON it polls (:mod:`~sailmesh.dashboard.server` lists the routes). A thin front end like
:mod:`sailmesh.cli`: each route calls one function of :mod:`~sailmesh.dashboard.views` (traces:
:mod:`~sailmesh.dashboard.trace_views`), which only picks and shapes what library functions
compute (the graph and rates in :mod:`sailmesh.telemetry.graph` and
:mod:`sailmesh.telemetry.history`, traces and their waterfall in
:mod:`sailmesh.telemetry.traces` and :mod:`sailmesh.telemetry.waterfall`, analysis in
:mod:`sailmesh.config.analysis`). The composition root (:mod:`sailmesh.app.local`) starts it;
it imports nothing above it.

Framework: ``aiohttp``'s server. The control plane is one asyncio process whose HTTP endpoints
are small asyncio servers (:mod:`sailmesh.controlplane.monitoring`); aiohttp runs on that same
loop with no second server process or thread (Starlette would need an ASGI server such as
uvicorn beside it), and gives routing, static files with safe paths, and middleware for the
host check, which the hand-written monitoring server lacks. In the browser: ``cytoscape`` with
``cytoscape-dagre`` (graph layout) and ``uPlot`` (time-series charts), vendored under
``static/vendor/`` with their licences (no CDN: the machine has no internet). No build step:
the page's own scripts (``dashboard.js``, and ``traces.js`` for the Traces pages) are plain
ES2020.
"""
