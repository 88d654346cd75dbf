"""The samples bundled with sailmesh that verbs start: bookinfo for ``demo`` and Istio's egress
gateway for ``up --egress-gateway`` (the repository's ``samples/`` next to ``src/``)."""

from __future__ import annotations

from pathlib import Path

import click


def samples_dir() -> Path:
    """The bundled samples (the repository's ``samples/`` next to ``src/``)."""
    import sailmesh

    found = Path(sailmesh.__file__).resolve().parents[2] / "samples"
    if not found.is_dir():
        raise click.ClickException(f"bundled samples not found at {found}")
    return found


def demo_paths() -> list[str]:
    root = samples_dir() / "bookinfo"
    return [
        str(root / "platform"),
        str(root / "networking" / "bookinfo-gateway.yaml"),
        str(root / "networking" / "destination-rule-all.yaml"),
    ]


def egress_gateway_manifest() -> Path:
    """The bundled ``istio-egressgateway`` deployment (``samples/egress``)."""
    return samples_dir() / "egress" / "istio-egressgateway.yaml"
