"""EnvoyFilter: patches applied to a proxy's translated resources, after translation.

In: a proxy, the snapshot (its EnvoyFilter objects) and the resources the generators built.
Out: the patched resources (:func:`~.apply.apply_envoy_filters`, called once by
:func:`sailmesh.xds.generate.generate`). ``select`` decides which EnvoyFilters apply and in
which order, ``patches`` compiles their ``configPatches`` (proxy match, values converted by
``values``), ``listeners``/``routes``/``clusters``/``extensions`` apply them with Istio's
semantics (``lists`` for the ordered-list operations, ``merge`` for MERGE), ``bootstrap``
patches the bootstrap a proxy starts with. RateLimitPolicies (:mod:`sailmesh.xds.ratelimit`)
reach proxies the same way, as patches applied before the EnvoyFilters'.
"""

from sailmesh.xds.envoyfilter.apply import apply_envoy_filters, has_patches

__all__ = ["apply_envoy_filters", "has_patches"]
