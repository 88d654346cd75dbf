"""``python -m sailmesh.samples.httpbin go|python [the image's own arguments]``.

``go``: go-httpbin's flags (``-port``, default ``$PORT`` or 8080; ``-host``; ``-max-duration``
and the others are accepted). ``python``: gunicorn's command line (``-b host:port``, default
port 80), as the python images run it. Exits 0 after a graceful stop on SIGTERM.
"""

from __future__ import annotations

import os
import sys

from .. import goflags
from ..web import gunicorn_bind, listen_host, serve
from .app import create_app

GO_VALUED = (
    "port",
    "host",
    "max-body-size",
    "max-duration",
    "https-cert-file",
    "https-key-file",
    "use-real-hostname",
    "allowed-redirect-domains",
    "exclude-headers",
    "prefix",
    "log-format",
    "log-level",
    "srv-max-header-bytes",
    "srv-read-header-timeout",
    "srv-read-timeout",
)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    flavour = args.pop(0) if args and args[0] in ("go", "python") else "go"
    if flavour == "go":
        try:
            flags, _ = goflags.parse(args, GO_VALUED, ("use-real-hostname",))
        except goflags.FlagError as exc:
            print(f"go-httpbin: {exc}", file=sys.stderr)
            return 2
        port = int(goflags.last(flags, "port", os.environ.get("PORT") or "8080"))
        host = listen_host(goflags.last(flags, "host", "0.0.0.0"))
    else:
        host, port = gunicorn_bind(args, 80)
    return serve(create_app(flavour), port, host)


if __name__ == "__main__":
    sys.exit(main())
