"""``sailctl x describe pod|service NAME``: the config shaping traffic to a pod or service, in
Istio's layout (see :mod:`sailmesh.xds.describe`), over the running mesh."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import click

from sailmesh.cli.client import call, fail_on_error, socket_option
from sailmesh.cli.meshview import mesh_view


@click.command()
@click.argument("what", type=click.Choice(["pod", "service", "svc"]))
@click.argument("name")
@click.option("-n", "--namespace", default="default", show_default=True)
@socket_option
def describe(what: str, name: str, namespace: str, socket_path: Path | None) -> None:
    """Describe a pod (POD, ns/POD, deploy/NAME) or a service: its ports, DestinationRule
    subsets, the VirtualService routes that reach it (or why none does), the ingress gateways
    exposing it, and its mTLS mode and authorization policies from config."""
    from sailmesh.xds.describe import describe_pod, describe_service

    view = mesh_view(socket_path)
    if what == "pod":
        query = urlencode({"pod": name, "namespace": namespace})
        status, info = call(socket_path, "GET", f"/v1/runtime/pod?{query}")
        fail_on_error(status, info)
        pod = view.workload(info["namespace"], info["name"])
        if pod is None:
            raise click.ClickException(f"pod {name} is not among the running pods")
        lines = describe_pod(view.ctx, pod, view.exposed)
    else:
        ns, _, short = name.rpartition("/") if "/" in name else (namespace, "", name)
        service = next(
            (
                s
                for s in view.ctx.services
                if s.resource.kind == "Service" and (s.namespace, s.resource.name) == (ns, short)
            ),
            None,
        )
        if service is None:
            raise click.ClickException(f'service "{short}" not found in namespace {ns!r}')
        lines = describe_service(view.ctx, service, view.exposed)
    for line in lines:
        click.echo(line)
