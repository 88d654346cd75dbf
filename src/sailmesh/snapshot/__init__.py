"""Immutable views for translation: the mesh snapshot, proxies, and push requests.

In: the config store's objects and a registry view. Out: a frozen :class:`MeshSnapshot` with the
indexes translation needs (VirtualServices by gateway and host, DestinationRules by host with
namespace/exportTo precedence, the Sidecar of a workload, policies per namespace/workload), the
:class:`Proxy` a node id describes, and :class:`PushRequest` with the proxies and xDS types a
change affects; :mod:`~sailmesh.snapshot.attachment` says whether a policy's ``selector`` or
``targetRef(s)`` attaches it to a proxy (the rules authorization, request authentication,
EnvoyFilter and Telemetry share). No I/O.
"""
