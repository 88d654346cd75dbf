"""Pod sandboxes: network namespaces, Istio-style traffic capture and loopback forwarders.

In: a run id, the sandbox mode, pod specs (name, namespace, uids, capture settings) and the
services to resolve. Out: one :class:`~.strategy.Sandbox` strategy per run, picked from the mode
in :mod:`.strategies` (``netns``: :mod:`.netns_mode`, ``userns``: :mod:`.userns_mode`,
``explicit``: :mod:`.explicit_mode`), and per pod a :class:`~.pod.PodSandbox`: its namespace on a
private bridge, iptables capture rules, hosts file, processes started inside it, ``127.0.0.1``
forwarders into it, or in ``explicit`` mode the proxy environment variables. All host state a run
creates carries the run prefix ``sm-<run_id>-`` so that :func:`sailmesh.runtime.sandbox.netns.
cleanup` finds it.
"""
