"""Local-mesh verbs: up, down, status, demo, exec, logs."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import click

from sailmesh.cli.bundled import demo_paths, egress_gateway_manifest
from sailmesh.cli.client import call, default_home, fail_on_error, socket_option
from sailmesh.cli.mesh_options import (
    addon_names,
    addons_option,
    cacerts_option,
    otlp_forward_option,
)
from sailmesh.cli.tables import print_table
from sailmesh.config.load import load_paths

MODES = click.Choice(["netns", "userns", "explicit"])
READY, NOT_READY = "✔", "✘"
F = TypeVar("F", bound=Callable[..., Any])
#: The line ``up`` prints once the pods started (``up -d`` waits for it in the log).
_REPORT = re.compile(r"^[✔✘] .*pods (not )?ready in ", re.MULTILINE)


def _mesh_running(socket_path: Path) -> bool:
    try:
        status, _ = call(socket_path, "GET", "/v1/version")
    except click.ClickException:
        return False
    return status == 200


async def _serve(
    paths: list[str],
    mode: str | None,
    home: Path,
    addons: tuple[str, ...],
    cacerts: Path | None,
    otlp_forward: str | None = None,
) -> int:
    from sailmesh.app.local import LocalMesh

    result = load_paths(paths)
    for p in result.problems:
        click.echo(str(p), err=True)
    if not result.ok:
        click.echo("✘ the manifests have errors; nothing was started", err=True)
        return 1
    shutil.rmtree(home / "state", ignore_errors=True)  # every `up` starts from its manifests
    from sailmesh.runtime.addons import AddonUnavailable
    from sailmesh.runtime.sandbox.errors import ModeUnavailable

    try:
        mesh = LocalMesh(home, mode, addons=addons, cacerts=cacerts, otlp_forward=otlp_forward)
        mesh.check_addons()
    except (ModeUnavailable, AddonUnavailable) as exc:
        click.echo(f"✘ {exc}", err=True)
        return 1
    click.echo(mesh.mode_report.describe())
    for limit in mesh.limits:
        click.echo(f"  limit: {limit}")
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    (home / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
    pidfile = home / "run" / "mesh.pid"
    pidfile.write_text(f"{os.getpid()} {mesh.names.run_id}\n")
    started = time.monotonic()
    all_ready = False
    try:
        await mesh.start(result.resources)
        assert mesh.server is not None

        def request_stop() -> None:
            loop.call_soon_threadsafe(stop.set)

        mesh.server.api.on_shutdown = request_stop
        urls = mesh.runtime_call("addons", {})["addons"]
        all_ready = _print_ready(mesh.status(), time.monotonic() - started, urls)
        await stop.wait()
        click.echo("stopping the mesh ...")
    finally:
        await mesh.stop()
        pidfile.unlink(missing_ok=True)
    click.echo("mesh stopped; every pod, namespace and rule removed")
    return 0 if all_ready else 1


def _print_ready(status: dict[str, Any], seconds: float, addons: dict[str, str]) -> bool:
    """Report the pods after start (one write, which ``up -d`` waits for); whether all are
    ready. Every pod that is not gets a line with the reason."""
    pods = status["pods"]
    waiting = [p for p in pods if not p["ready"]]
    run = f"in {seconds:.1f}s (run {status['runId']})"
    if waiting:
        lines = [f"{NOT_READY} {len(waiting)} of {len(pods)} pods not ready {run}"]
        lines += [
            f"  {p['namespace']}/{p['name']}: {p['phase']}: {p.get('reason') or 'not ready'}"
            for p in waiting
        ]
    else:
        lines = [f"{READY} {len(pods)}/{len(pods)} pods ready {run}"]
    lines += [
        f"  gateway {g['namespace']}/{g['pod']} port {g['port']} -> http://127.0.0.1:{g['local']}/"
        for g in status["gatewayPorts"]
    ]
    lines += [f"  {name} -> {url}/  (sailctl dashboard {name})" for name, url in addons.items()]
    click.echo("\n".join(lines))
    return not waiting


def clean_dead_run(home: Path) -> bool:
    """Clean up the run of a mesh that did not stop (killed); whether there was one."""
    from sailmesh.runtime.stale import clean_dead_run as clean

    run_id = clean(home / "run")
    if run_id is not None:
        click.echo(f"cleaned up a previous run {run_id} that did not stop")
    return run_id is not None


def _up(
    paths: list[str],
    mode: str | None,
    detach: bool,
    socket_path: Path | None,
    addons: tuple[str, ...] = (),
    cacerts: Path | None = None,
    otlp_forward: str | None = None,
) -> None:
    home = default_home()
    sock = socket_path or home / "run" / "api.sock"
    if _mesh_running(sock):
        raise click.ClickException("a mesh is already running; stop it with `sailctl down`")
    clean_dead_run(home)
    if not detach:
        raise SystemExit(asyncio.run(_serve(paths, mode, home, addons, cacerts, otlp_forward)))
    (home / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
    logfile = home / "run" / "mesh.log"
    argv = [sys.executable, "-m", "sailmesh.cli.main", "up", *paths]
    if mode:
        argv += ["--mode", mode]
    if addons:
        argv += ["--addons", ",".join(addons)]
    if cacerts:
        argv += ["--cacerts", str(cacerts.resolve())]
    if otlp_forward:
        argv += ["--otlp-forward", otlp_forward]
    with open(logfile, "wb") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 120
    with click.progressbar(length=100, label="starting the mesh", file=sys.stderr) as bar:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise click.ClickException(
                    f"the mesh exited ({proc.returncode}):\n"
                    + logfile.read_text(errors="replace")[-3000:]
                )
            if _REPORT.search(logfile.read_text(errors="replace")):
                bar.update(100)
                break
            time.sleep(0.2)
            bar.update(1)
        else:
            raise click.ClickException(f"the mesh did not become ready; see {logfile}")
    text = logfile.read_text(errors="replace").strip()
    click.echo(text)
    click.echo(f"running in the background (pid {proc.pid}); logs: {logfile}; stop: sailctl down")
    if f"{NOT_READY} " in text:
        raise SystemExit(1)  # the mesh runs on: fix the manifests and apply them, or `down`


@click.command()
@click.argument("directory", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--mode", type=MODES, default=None, help="Sandbox mode (default: the best available)."
)
@click.option("-d", "--detach", is_flag=True, help="Run in the background.")
@addons_option
@click.option(
    "--egress-gateway",
    is_flag=True,
    help="Also run Istio's istio-egressgateway (istio-system, labels istio=egressgateway).",
)
@cacerts_option
@otlp_forward_option
@socket_option
def up(
    directory: tuple[str, ...],
    mode: str | None,
    detach: bool,
    addons: str,
    egress_gateway: bool,
    cacerts: Path | None,
    otlp_forward: str | None,
    socket_path: Path | None,
) -> None:
    """Start the control plane and run every manifest in DIRECTORY (Ctrl-C stops everything)."""
    paths = list(directory)
    if egress_gateway:
        paths.append(str(egress_gateway_manifest()))
    _up(paths, mode, detach, socket_path, addon_names(addons), cacerts, otlp_forward)


@click.command()
@click.option(
    "--mode", type=MODES, default=None, help="Sandbox mode (default: the best available)."
)
@click.option("-d", "--detach", is_flag=True, help="Run in the background.")
@addons_option
@cacerts_option
@otlp_forward_option
@socket_option
def demo(
    mode: str | None,
    detach: bool,
    addons: str,
    cacerts: Path | None,
    otlp_forward: str | None,
    socket_path: Path | None,
) -> None:
    """Run the bundled bookinfo mesh with its ingress gateway on http://127.0.0.1:8080."""
    click.echo("bookinfo: productpage, details, reviews v1/v2/v3, ratings, and an ingress gateway")
    click.echo("open  http://127.0.0.1:8080/productpage")
    click.echo("try   sailctl apply -f samples/bookinfo/networking/virtual-service-all-v1.yaml")
    click.echo(
        "      sailctl apply -f samples/bookinfo/networking/virtual-service-reviews-test-v2.yaml"
        "   (log in as jason)"
    )
    click.echo(
        "      sailctl proxy-status; sailctl status; sailctl logs deploy/productpage-v1 -c istio-proxy"
    )
    _up(demo_paths(), mode, detach, socket_path, addon_names(addons), cacerts, otlp_forward)


@click.command()
@socket_option
def down(socket_path: Path | None) -> None:
    """Stop the running mesh (every pod, namespace, rule and forwarder goes away)."""
    home = default_home()
    pidfile = home / "run" / "mesh.pid"
    try:
        status, body = call(socket_path, "POST", "/v1/shutdown")
    except click.ClickException:
        if not clean_dead_run(home):
            click.echo("no mesh is running")
        return
    fail_on_error(status, body)
    pid = int(pidfile.read_text().split()[0]) if pidfile.exists() else None
    deadline = time.monotonic() + 60
    while pid is not None and time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    click.echo("mesh stopped")


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (an exited child not yet reaped by its parent does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def namespace_option(func: F) -> F:
    """``-n/--namespace`` of a command taking a pod reference (default ``default``, like
    kubectl; a reference ``ns/POD`` names its own)."""
    return click.option(
        "-n",
        "--namespace",
        default="default",
        show_default=True,
        help="The namespace of POD (a reference ns/POD names its own).",
    )(func)


@click.command()
@click.option("-n", "--namespace", default=None, help="Only the pods of this namespace.")
@click.option(
    "-A", "--all-namespaces", "all_namespaces", is_flag=True, help="Every namespace (default)."
)
@socket_option
def status(namespace: str | None, all_namespaces: bool, socket_path: Path | None) -> None:
    """Pods, their readiness and restarts, the sandbox mode, and each sidecar's sync state."""
    query = "" if all_namespaces or not namespace else "?" + urlencode({"namespace": namespace})
    code, body = call(socket_path, "GET", f"/v1/runtime/status{query}")
    fail_on_error(code, body)
    _, proxies = call(socket_path, "GET", "/v1/proxies")
    sync: dict[str, str] = {}
    for rec in proxies.get("proxies", []):
        pod_ns = rec["node"].split("~")[2]
        states = {t["state"] for k, t in rec["types"].items() if k != "SDS"}
        sync[pod_ns] = "SYNCED" if states == {"SYNCED"} else ",".join(sorted(states))
    click.echo(body["modeReason"])
    for limit in body.get("limits", []):
        click.echo(f"  limit: {limit}")
    rows = []
    for p in body["pods"]:
        ready = sum(1 for c in p["containers"] if c["ready"])
        restarts = sum(c["restarts"] for c in p["containers"])
        proxy = (
            sync.get(f"{p['name']}.{p['namespace']}", "-")
            if p["sidecar"] or p["gateway"]
            else "none"
        )
        rows.append(
            (
                p["namespace"],
                p["name"],
                f"{ready}/{len(p['containers'])}",
                p["phase"],
                restarts,
                p["ip"] or "-",
                proxy,
                p.get("reason") or "",
            )
        )
    columns = ("NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "IP", "PROXY", "REASON")
    print_table(columns, rows)
    for g in body["gatewayPorts"]:
        click.echo(
            f"gateway {g['namespace']}/{g['pod']}:{g['port']} -> http://127.0.0.1:{g['local']}/"
        )
    code, ca = call(socket_path, "GET", "/v1/ca")
    for warning in ca.get("warnings", []) if code == 200 else []:
        click.echo(warning, err=True)


def _pod_info(socket_path: Path | None, pod: str, namespace: str) -> dict[str, Any]:
    query = urlencode({"pod": pod, "namespace": namespace})
    code, body = call(socket_path, "GET", f"/v1/runtime/pod?{query}")
    fail_on_error(code, body)
    return body


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("pod")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option(
    "-c", "--container", default=None, help="Run as this container's user (istio-proxy: uid 1337)."
)
@namespace_option
@socket_option
def exec_(
    pod: str,
    command: tuple[str, ...],
    container: str | None,
    namespace: str,
    socket_path: Path | None,
) -> None:
    """Run COMMAND inside POD's sandbox (POD, ns/POD or deploy/NAME), like kubectl exec."""
    argv = json.dumps(list(command))
    query = urlencode(
        {"pod": pod, "namespace": namespace, "container": container or "", "command": argv}
    )
    code, body = call(socket_path, "GET", f"/v1/runtime/exec?{query}")
    fail_on_error(code, body)
    raise SystemExit(subprocess.call(body["argv"], env=body["env"], cwd=body["cwd"]))


exec_.name = "exec"


@click.command()
@click.argument("pod")
@click.option(
    "-c",
    "--container",
    default=None,
    help="Container (default: the first app container; istio-proxy for the sidecar).",
)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
@click.option("--tail", "lines", type=int, default=-1, help="Only the last N lines.")
@namespace_option
@socket_option
def logs(
    pod: str,
    container: str | None,
    follow: bool,
    lines: int,
    namespace: str,
    socket_path: Path | None,
) -> None:
    """Print a container's log (POD, ns/POD or deploy/NAME)."""
    info = _pod_info(socket_path, pod, namespace)
    containers: dict[str, str] = info["containers"]
    name = container or next((c for c in containers if c != "istio-proxy"), "istio-proxy")
    if name not in containers:
        raise click.ClickException(
            f"no container {name!r} in {pod}; containers: {', '.join(containers)}"
        )
    path = Path(containers[name])
    text = path.read_text(errors="replace") if path.exists() else ""
    chunk = text.splitlines()[-lines:] if lines >= 0 else text.splitlines()
    for line in chunk:
        click.echo(line)
    if follow:
        with open(path, errors="replace") as f:
            f.seek(0, os.SEEK_END)
            try:
                while True:
                    line = f.readline()
                    if line:
                        click.echo(line, nl=False)
                    else:
                        time.sleep(0.2)
            except KeyboardInterrupt:
                pass
