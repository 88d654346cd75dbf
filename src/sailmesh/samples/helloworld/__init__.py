"""A stand-in for Istio's ``examples-helloworld-v1``/``-v2`` images (standard library only).

``GET /hello`` answers ``Hello version: <version>, instance: <hostname>``; ``GET /health``
answers ``Helloworld is healthy``. The version is the image's (``v1``/``v2``, overridden by
``$SERVICE_VERSION`` as in the image); the port comes from gunicorn's ``-b`` (default 5000).
``python -m sailmesh.samples.helloworld <version> [gunicorn arguments]``.
"""
