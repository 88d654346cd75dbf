"""sailmesh: an Istio-compatible service mesh with a Python control plane and real Envoy.

Layers (see DESIGN.md): ``config`` (Istio YAML in, typed validated resources out),
``registry``, ``snapshot``, ``xds``, ``ads``, ``ca``, ``runtime``, ``telemetry``,
``controlplane``, and the ``cli``/``dashboard`` front ends. Nothing happens at import time.
"""

__version__ = "0.1.0"
