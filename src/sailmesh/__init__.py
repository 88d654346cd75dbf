"""sailmesh: an Istio-compatible service mesh with a Python control plane and real Envoy.

Layers (see DESIGN.md; imports point down this list, checked by ``lint-imports``):
``cli`` (front end) > ``app`` (the composition root and the control-plane API) >
``controlplane`` | ``runtime`` > ``xds`` | ``ads`` > ``snapshot`` > ``registry`` > ``config``,
with the neutral modules ``errors`` (the one exception tree), ``clock`` (the one injected
clock) and ``typeurls`` (Envoy type URLs) at the bottom. ``ads`` knows no Istio kinds;
``runtime`` knows pods, never the control plane or translation. ``samples`` holds the bookinfo
apps the pods run. Nothing happens at import time.
"""

__version__ = "0.1.0"
