"""Options of the verbs that start a mesh (``up``, ``demo``): add-ons and a plug-in CA."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def cacerts_option(func: F) -> F:
    """``--cacerts DIR``: Istio's plug-in CA files (read in place at every start)."""
    return click.option(
        "--cacerts",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        default=None,
        help="A plug-in CA directory (Istio's ca-cert.pem, ca-key.pem with mode 600, "
        "root-cert.pem, cert-chain.pem); default: the self-signed root in $SAILMESH_HOME/ca.",
    )(func)


def addons_option(func: F) -> F:
    """``--addons NAME[,NAME]``: add-ons started with the mesh (default: none)."""
    return click.option(
        "--addons",
        default="",
        metavar="NAMES",
        help="Comma-separated add-ons to start with the mesh: prometheus. Default: none.",
    )(func)


def addon_names(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(a.strip() for a in text.split(",") if a.strip()))
    from sailmesh.app.addons import KNOWN

    unknown = [a for a in names if a not in KNOWN]
    if unknown:
        raise click.BadParameter(
            f"unknown add-on {unknown[0]!r}; known: {', '.join(KNOWN)}", param_hint="--addons"
        )
    return names


def otlp_forward_option(func: F) -> F:
    """``--otlp-forward URL``: where the built-in collector forwards the spans it receives."""
    return click.option(
        "--otlp-forward",
        default=None,
        metavar="URL",
        help="Also forward the proxies' spans to this OTLP/HTTP endpoint "
        "(e.g. http://127.0.0.1:4318/v1/traces). Default: keep them in the control plane only.",
        callback=_http_url,
    )(func)


def _http_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise click.BadParameter(f"{value!r} is not an http:// or https:// URL")
    return value
