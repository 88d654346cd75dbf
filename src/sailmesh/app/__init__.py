"""The composition root: where the layers are wired together, and the control-plane API.

In: settings (state dir, sockets, sandbox mode) and manifests. Out: running pieces —
:class:`~sailmesh.app.server.MeshServer` (a control plane and its API on a Unix socket) and
:class:`~sailmesh.app.local.LocalMesh` (that plus the local pod runtime, linked through
:class:`~sailmesh.app.local.ControlPlaneLink` and the bootstrap renderer of
:mod:`~sailmesh.app.bootstrap`). Holds no translation or runtime logic: only wiring, and the
API's routes (:mod:`~sailmesh.app.api`) and their backend (:mod:`~sailmesh.app.backend`).
"""
