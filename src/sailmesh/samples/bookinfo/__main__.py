"""``python -m sailmesh.samples.bookinfo <service> [--version vN] [--port 9080]``.

The version comes from ``--version``, else ``SERVICE_VERSION``, else ``v1``; the port from
``--port``, else ``PORT``, else 9080. Exits 0 after a graceful stop on SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..web import App, serve

SERVICES = ("productpage", "details", "reviews", "ratings")


def create_app(service: str, version: str) -> App:
    """The app of ``service`` (only its module is imported)."""
    if service == "productpage":
        from . import productpage

        return productpage.create_app(version)
    if service == "details":
        from . import details

        return details.create_app(version)
    if service == "reviews":
        from . import reviews

        return reviews.create_app(version)
    if service == "ratings":
        from . import ratings

        return ratings.create_app(version)
    raise ValueError(f"unknown bookinfo service {service!r}")


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and serve until SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m sailmesh.samples.bookinfo", description="Run one bookinfo service."
    )
    parser.add_argument("service", choices=SERVICES)
    parser.add_argument("--version", help="service version (default: $SERVICE_VERSION or v1)")
    parser.add_argument("--port", type=int, help="listen port (default: $PORT or 9080)")
    args = parser.parse_args(argv)
    version: str = args.version or os.environ.get("SERVICE_VERSION") or "v1"
    port: int = args.port if args.port is not None else int(os.environ.get("PORT") or 9080)
    return serve(create_app(args.service, version), port)


if __name__ == "__main__":
    sys.exit(main())
