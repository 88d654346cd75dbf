"""The control plane: config store + registry + ADS, registry sync, debounce and push.

In: config changes (from the store, applied through the API of :mod:`sailmesh.app`), workload
changes from the runtime (into the registry), proxies connecting over ADS. Out: per-proxy xDS
snapshots pushed to Envoy, and read views (config, proxy status). Modules:
:mod:`~sailmesh.controlplane.server` (``ControlPlane``, the parts wired), ``pusher`` (connected
proxies, push contexts, debounced pushes, sync waits), ``pushcache`` (what a push can share
or reuse: it decides what to regenerate and caches results; translation is
:mod:`sailmesh.xds.generate`'s), ``registry_sync`` (store -> registry), ``vips``, ``status``,
``debounce``, ``tuning``. Holds no translation logic.
"""
