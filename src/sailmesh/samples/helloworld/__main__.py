"""``python -m sailmesh.samples.helloworld v1|v2 [gunicorn arguments]``."""

from __future__ import annotations

import os
import socket
import sys

from ..web import App, Request, Response, gunicorn_bind, serve


def create_app(version: str, instance: str) -> App:
    app = App("helloworld")

    @app.route(r"/hello")
    def hello(request: Request) -> Response:
        return Response(200, f"Hello version: {version}, instance: {instance}\n".encode())

    @app.route(r"/health")
    def health(request: Request) -> Response:
        return Response(200, b"Helloworld is healthy")

    return app


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    image_version = args.pop(0) if args and not args[0].startswith("-") else "v1"
    version = os.environ.get("SERVICE_VERSION") or image_version
    instance = os.environ.get("HOSTNAME") or socket.gethostname()
    host, port = gunicorn_bind(args, 5000)
    return serve(create_app(version, instance), port, host)


if __name__ == "__main__":
    sys.exit(main())
