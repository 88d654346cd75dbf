"""Pod sandboxes: network namespaces, Istio-style traffic capture and loopback forwarders.

In: a run id, pod specs (name, namespace, uids, capture settings) and the services to resolve.
Out: pod network namespaces on a private bridge (``netns`` mode), their iptables capture rules,
per-pod hosts files, processes started inside them, ``127.0.0.1`` forwarders into them, and the
``explicit`` fallback (proxy environment variables). All host state a run creates carries the
run prefix ``sm-<run_id>-`` so that :func:`sailmesh.runtime.sandbox.netns.cleanup` finds it.
"""
