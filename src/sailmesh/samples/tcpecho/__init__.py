"""A stand-in for Istio's ``tcp-echo-server`` image (standard library only).

``python -m sailmesh.samples.tcpecho <ports> <prefix>`` (the image's arguments, default
``9000 hello``): listens on each comma-separated port; every line a client sends comes back as
``<prefix> <line>``. Logs ``request:``/``response:`` lines like the image.
"""
