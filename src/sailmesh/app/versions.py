"""Versions of the data plane: each proxy pod's Envoy, from its admin ``/server_info``.

In: a function calling the control-plane API (``(method, route) -> (status, body)``). Out:
one row per sidecar or gateway pod of the local runtime: name, role, Envoy version and build,
or why it could not be read (a pod that failed to start, an admin API that does not answer).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

ApiCall = Callable[[str, str], tuple[int, dict[str, Any]]]


def envoy_version(server_info: dict[str, Any]) -> tuple[str, str]:
    """``(1.40.0, <sha>/Clean/RELEASE/BoringSSL)`` from an admin ``/server_info`` answer."""
    full = str(server_info.get("version", ""))
    parts = full.split("/")
    if len(parts) >= 2:
        return parts[1], "/".join([parts[0], *parts[2:]])
    return full or "unknown", ""


def proxy_pods(call: ApiCall) -> list[dict[str, Any]]:
    """The runtime's pods that run a proxy (none when the control plane has no runtime)."""
    status, body = call("GET", "/v1/runtime/status")
    if status != 200:
        return []
    return [p for p in body["pods"] if p.get("sidecar") or p.get("gateway")]


def proxy_versions(call: ApiCall) -> list[dict[str, str]]:
    rows = []
    for pod in proxy_pods(call):
        name = f"{pod['namespace']}/{pod['name']}"
        row = {"proxy": name, "role": "gateway" if pod.get("gateway") else "sidecar"}
        if pod.get("phase") == "Failed":
            rows.append({**row, "envoy": "-", "build": f"not running: {pod.get('reason')}"})
            continue
        status, answer = call("GET", f"/v1/runtime/admin?pod={name}&path=/server_info")
        if status != 200 or answer.get("status") != 200:
            reason = answer.get("error") or f"admin answered {answer.get('status')}"
            rows.append({**row, "envoy": "-", "build": f"unreachable: {reason}"})
            continue
        version, build = envoy_version(json.loads(answer["body"]))
        rows.append({**row, "envoy": version, "build": build})
    return rows
