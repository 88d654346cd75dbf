"""Requests made from inside a pod of the local mesh, many per process, for e2e tests.

:func:`http` sends a batch of HTTP requests with the pod's own ``python3`` (so a meshed pod's
calls go through its sidecar, captured like any app's) and returns, per request, the status
(or ``"reset"`` when the connection is closed without an answer), the body and the response
headers. :func:`tcp` opens a TCP connection, sends a line and returns what came back, or
``"closed"``/``"reset"`` when the server side closes the connection first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sailmesh.runtime.local import RunningPod

_HTTP = """
import http.client, json, sys
out = []
for host, port, method, path, headers, body in json.loads(sys.argv[1]):
    try:
        conn = http.client.HTTPConnection(host, port, timeout=5)
        conn.request(method, path, body=body.encode() if body else None, headers=headers)
        r = conn.getresponse()
        out.append({"status": r.status, "body": r.read().decode(errors="replace")[:2000],
                    "headers": {k.lower(): v for k, v in r.getheaders()}})
        conn.close()
    except (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError):
        out.append({"status": "reset"})
    except Exception as exc:
        out.append({"status": "error " + type(exc).__name__ + " " + str(exc)})
print(json.dumps(out))
"""

_TCP = """
import socket, sys
host, port, line = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    s = socket.create_connection((host, port), timeout=5)
    s.sendall(line.encode() + b"\\n")
    data = s.recv(4096)
    print(data.decode(errors="replace").strip() if data else "closed")
except (ConnectionResetError, BrokenPipeError):
    print("reset")
except Exception as exc:
    print("error", type(exc).__name__, exc)
"""

_ENV = {"PATH": "/usr/bin:/bin"}


@dataclass(frozen=True)
class Request:
    """One HTTP request: ``url`` is ``host[:port]/path``."""

    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""

    def parts(self) -> list[Any]:
        where, _, path = self.url.partition("/")
        host, _, port = where.partition(":")
        return [host, int(port or 80), self.method, "/" + path, self.headers, self.body]


@dataclass(frozen=True)
class Answer:
    status: int | str
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def http(pod: RunningPod, *requests: Request) -> list[Answer]:
    """Send ``requests`` from ``pod`` one after the other; their answers."""
    argv = ["python3", "-c", _HTTP, json.dumps([r.parts() for r in requests])]
    done = pod.sandbox.run(argv, env=_ENV, timeout=10 + 6 * len(requests))
    if done.returncode != 0:
        raise AssertionError(f"probe failed in {pod.plan.name}: {done.stderr.strip()}")
    return [Answer(**found) for found in json.loads(done.stdout)]


def statuses(pod: RunningPod, *requests: Request) -> list[int | str]:
    return [answer.status for answer in http(pod, *requests)]


def tcp(pod: RunningPod, host: str, port: int, line: str = "ping") -> str:
    """Send ``line`` to ``host:port`` from ``pod``: the echo, ``closed`` or ``reset``."""
    done = pod.sandbox.run(["python3", "-c", _TCP, host, str(port), line], env=_ENV, timeout=15)
    return done.stdout.strip() or f"error {done.stderr.strip()}"
