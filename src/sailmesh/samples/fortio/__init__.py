"""A stand-in for the ``fortio/fortio`` image Istio's tasks use (standard library only).

Verbs: ``load`` (bounded HTTP load: ``-c`` connections, ``-qps`` (0: as fast as possible),
``-n`` calls or ``-t`` duration, ``-H`` headers, ``-timeout``, ``-p`` percentiles,
``-loglevel``) printing fortio's report (``Code 200 : N (P %)``, the histogram and
``# target 50% ...`` lines); ``curl`` (one request, the response printed as received);
``server`` (HTTP echo on ``-http-port`` 8080 honouring ``?status=``, ``?delay=``, ``?size=``,
``?header=``, ``/debug``; TCP echo on ``-tcp-port`` 8078; ``-grpc-port`` 8079 accepts
connections only: there is no gRPC ping). ``python -m sailmesh.samples.fortio <verb> ...``.
"""

VERSION = "1.69.5-sailmesh"
