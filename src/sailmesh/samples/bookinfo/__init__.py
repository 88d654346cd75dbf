"""A standard-library-only Python implementation of Istio's bookinfo sample.

Four services with the observable behaviour of Istio's images, each runnable as
``python -m sailmesh.samples.bookinfo <service> [--version vN] [--port 9080]``:

* ``productpage`` - the HTML page and JSON API; calls details and reviews.
* ``details`` - static book details.
* ``reviews`` - v1 (no ratings), v2 (black stars), v3 (red stars); v2/v3 call ratings.
* ``ratings`` - the star ratings.

:mod:`~sailmesh.samples.bookinfo.common` holds the shared HTTP plumbing.
"""
