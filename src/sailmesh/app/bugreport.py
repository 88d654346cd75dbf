"""A bug report of the running mesh: one archive with what a maintainer asks for, secrets out.

In: a function calling the control-plane API and the mesh home. Out: archive members
(name -> bytes), then a ``.tar.gz`` written with mode 0600:

- ``version.json``: client, control plane and each proxy's Envoy version;
- ``config.yaml``: every applied object (Secrets keep their keys, not their values);
- ``proxy-status.json``, ``runtime-status.json``, ``analyze.txt`` (live analysis);
- ``proxies/<ns>/<pod>/``: Envoy's ``config_dump``, ``clusters``, ``server_info``, ``logging``;
- ``logs/<ns>/<pod>/<container>.log``: the last :data:`LOG_TAIL_BYTES` of each container log,
  and ``logs/control-plane.log`` when the mesh runs detached;
- ``errors.txt``: what could not be collected, and why.

Every member goes through :mod:`sailmesh.app.redact` (private keys, tokens) before it is added.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
from pathlib import Path
from typing import Any

import yaml

from sailmesh import __version__
from sailmesh.app.mesh_inputs import mesh_resources
from sailmesh.app.redact import redact_json, redact_object, redact_text
from sailmesh.app.versions import ApiCall, proxy_pods, proxy_versions

LOG_TAIL_BYTES = 256 * 1024
#: Envoy admin endpoints saved per proxy (file name, admin path).
ADMIN_DUMPS = (
    ("config_dump.json", "/config_dump?include_eds"),
    ("clusters.json", "/clusters?format=json"),
    ("server_info.json", "/server_info"),
)


class _Report:
    def __init__(self, call: ApiCall) -> None:
        self.call = call
        self.files: dict[str, bytes] = {}
        self.errors: list[str] = []

    def add(self, name: str, content: str) -> None:
        self.files[name] = redact_text(content).encode()

    def add_json(self, name: str, value: Any) -> None:
        self.add(name, json.dumps(redact_json(value), indent=2) + "\n")

    def get(self, route: str, what: str) -> dict[str, Any] | None:
        try:
            status, body = self.call("GET", route)
        except (OSError, ConnectionError) as exc:
            self.errors.append(f"{what}: {exc}")
            return None
        if status != 200:
            self.errors.append(f"{what}: HTTP {status}: {body.get('error', '')}")
            return None
        return body


def _tail(path: Path, limit: int) -> str:
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - limit))
        data = f.read()
    cut = f"[... {size - limit} earlier bytes left out ...]\n" if size > limit else ""
    return cut + data.decode(errors="replace")


def _analysis(items: list[dict[str, Any]], status: dict[str, Any] | None) -> str:
    from sailmesh.config.analysis import framework
    from sailmesh.config.analysis.run import analyze

    resources, problems = mesh_resources(items, status["pods"] if status else ())
    found = framework.select(analyze(resources, problems, live=status is not None))
    return "\n".join(framework.format_log(p) for p in found) or "no validation issues found"


def _proxies(report: _Report) -> None:
    for pod in proxy_pods(report.call):
        if pod.get("phase") == "Failed":
            continue
        name = f"{pod['namespace']}/{pod['name']}"
        for file, path in ADMIN_DUMPS:
            route = f"/v1/runtime/admin?pod={name}&path={path.replace('?', '%3F')}"
            answer = report.get(route, f"{name} {path}")
            if answer is None:
                continue
            body = str(answer.get("body", ""))
            if file.endswith(".json"):
                try:
                    report.add_json(f"proxies/{name}/{file}", json.loads(body))
                    continue
                except ValueError:
                    pass
            report.add(f"proxies/{name}/{file}", body)
        # Envoy lists its log levels on POST only; with no level given nothing changes
        try:
            status, answer = report.call("POST", f"/v1/runtime/loglevel?pod={name}")
        except (OSError, ConnectionError) as exc:
            report.errors.append(f"{name} /logging: {exc}")
            continue
        if status == 200:
            report.add(f"proxies/{name}/logging.txt", str(answer.get("body", "")))


def _logs(report: _Report, pods: list[dict[str, Any]], home: Path) -> None:
    for pod in pods:
        name = f"{pod['namespace']}/{pod['name']}"
        info = report.get(f"/v1/runtime/pod?pod={name}", f"{name} pod info")
        for container, path in (info or {}).get("containers", {}).items():
            try:
                report.add(f"logs/{name}/{container}.log", _tail(Path(path), LOG_TAIL_BYTES))
            except OSError as exc:
                report.errors.append(f"{name} {container} log: {exc}")
    cp_log = home / "run" / "mesh.log"
    if cp_log.exists():
        report.add("logs/control-plane.log", _tail(cp_log, LOG_TAIL_BYTES))


def collect(call: ApiCall, home: Path) -> dict[str, bytes]:
    """Every member of the report, redacted (see the module docstring)."""
    report = _Report(call)
    cp = report.get("/v1/version", "control plane version") or {}
    report.add_json(
        "version.json",
        {"client": __version__, "controlPlane": cp, "proxies": proxy_versions(call)},
    )
    config = report.get("/v1/config", "applied config")
    items = list(config["items"]) if config else []
    report.add(
        "config.yaml", yaml.safe_dump_all([redact_object(i) for i in items], sort_keys=False)
    )
    report.add_json("proxy-status.json", report.get("/v1/proxies", "proxy status"))
    status = report.get("/v1/runtime/status", "runtime status")
    report.add_json("runtime-status.json", status)
    report.add("analyze.txt", _analysis(items, status) + "\n")
    _proxies(report)
    _logs(report, list(status["pods"]) if status else [], home)
    report.add("errors.txt", "\n".join(report.errors) + "\n" if report.errors else "none\n")
    return report.files


def write_archive(files: dict[str, bytes], out: Path, root: str = "bug-report") -> None:
    """A gzipped tar of ``files`` under ``root/``, created readable by its owner only."""
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    now = time.time()
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(f"{root}/{name}")
            info.size, info.mtime, info.mode = len(data), int(now), 0o600
            tar.addfile(info, io.BytesIO(data))
