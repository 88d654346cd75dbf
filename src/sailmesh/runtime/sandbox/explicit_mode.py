"""``explicit`` mode (anywhere): no namespace, no capture; apps reach their sidecar by
``http_proxy``.

In: per pod its uids and the port of its sidecar's outbound (http_proxy) listener. Out: the
proxy variables in every process's environment (:func:`explicit_proxy_env`) and command lines
that only drop to the app's or the proxy's uid when we are root. Every pod shares the host's
network: the runtime hands out host ports (:attr:`ExplicitSandbox.host_ports`) and a gateway
binds its ports on 127.0.0.1 itself (:attr:`ExplicitSandbox.gateways_bind_loopback`).

Limits: only HTTP/1.1 clients that honour the proxy variables are meshed (no raw TCP, no
HTTPS beyond ``CONNECT``, no gRPC libraries that ignore them); routing uses the Host header
(absolute-form request URI), not the destination IP; nothing captures inbound traffic, so the
app must be reached through its sidecar's inbound listener port explicitly; every pod shares
the host's loopback, so ports must not collide. Nothing isolates a pod from other local users:
any of them can connect to its ports, and to its sidecar's. Pods get no workload identity: an
SDS socket admits its pod's Envoy by network namespace and uid, and here every Envoy shares
both.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sailmesh.runtime.sandbox.modes import Mode
from sailmesh.runtime.sandbox.netns import setpriv_argv
from sailmesh.runtime.sandbox.strategy import Sandbox

if TYPE_CHECKING:
    from sailmesh.runtime.sandbox.pod import PodSandbox

EXPLICIT_LIMITS = (
    "HTTP only: clients must honour http_proxy/HTTP_PROXY (no raw TCP, no transparent TLS)",
    "routing by the Host header of absolute-form requests, not by destination IP",
    "no inbound capture: callers must target the sidecar's inbound port explicitly",
    "all pods share the host loopback: ports must be unique across pods",
)


def explicit_proxy_env(outbound_port: int, no_proxy: Iterable[str] = ()) -> dict[str, str]:
    """Environment that sends an app's HTTP traffic to its sidecar on 127.0.0.1 (explicit mode)."""
    proxy = f"http://127.0.0.1:{outbound_port}"
    bypass = ",".join(dict.fromkeys(["localhost", "127.0.0.1", "::1", *no_proxy]))
    return {
        "http_proxy": proxy,
        "HTTP_PROXY": proxy,
        "no_proxy": bypass,
        "NO_PROXY": bypass,
    }


class ExplicitSandbox(Sandbox):
    """Pods as plain processes on the host; apps told about their sidecar by ``http_proxy``."""

    mode = Mode.EXPLICIT
    host_ports = True
    gateways_bind_loopback = True
    limits = (
        *EXPLICIT_LIMITS[:2],
        "no inbound capture: the server's sidecar sees (logs, enforces) nothing; only the "
        "caller's sidecar handles a call",
        "pods share the host: each gets host ports for its containerPorts; an app must listen "
        "on $PORT (its first containerPort's host port), or only one replica per port works",
        "gateways bind 127.0.0.1 (a substitute port when the server port is taken or "
        "privileged); ports of Gateways applied after the gateway started bind as they are",
        "pods without a sidecar have no Service names or VIPs (nothing translates them): "
        "they reach other pods only at 127.0.0.1:<host port>",
        "no workload identity: pods get no certificates over SDS (every Envoy shares the "
        "host's network namespace and uid, so an SDS socket could not tell its pod's Envoy "
        "from another's), hence no mutual TLS",
        "Sidecar ingress listeners and per-port egress listeners are not built (one http_proxy "
        "listener serves every outbound call; there is no inbound hop to add listeners to)",
    )

    def proxy_host_identity(self) -> tuple[int, int] | None:
        return None  # see the limits: no namespace sets one pod's Envoy apart

    def command(
        self, pod: PodSandbox, argv: Sequence[str], uid: int, gid: int, cwd: Path | None
    ) -> list[str]:
        if os.geteuid() != 0:
            return list(argv)
        return setpriv_argv(uid, gid) + list(argv)

    def proxy_env(self, pod: PodSandbox) -> dict[str, str]:
        port = pod.spec.explicit_outbound_port
        return explicit_proxy_env(port) if port else {}
