"""A stand-in for the httpbin images Istio's samples use (standard library only).

Two flavours with the observable API of their images: ``go`` answers like
``mccutchen/go-httpbin`` (header and query values as lists), ``python`` like
``kennethreitz/httpbin`` and ``kong/httpbin`` (single values). Endpoints: ``/get``, ``/post``,
``/put``, ``/patch``, ``/delete``, ``/anything[/...]``, ``/headers``, ``/ip``, ``/user-agent``,
``/uuid``, ``/status/<codes>`` (``200,503`` or weighted ``200:0.7,503:0.3`` picks one at
random per request), ``/delay/<seconds>`` (at most 10), ``/response-headers?Name=value``.
Run as ``python -m sailmesh.samples.httpbin go [go-httpbin flags]`` or
``python -m sailmesh.samples.httpbin python [gunicorn arguments]``.
"""
