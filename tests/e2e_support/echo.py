"""An echo app for mesh pods and HTTP calls that read its answers.

The app answers every GET, POST, PUT and DELETE with JSON: its pod name, the method, the
request path and the request headers as the app received them (names lower-cased), so tests
see what the sidecar or gateway added, removed or forwarded. :func:`pod_calls` makes GETs from inside a pod (one Python process for
a batch), :func:`host_call` from the host (e.g. to a gateway's forwarded port).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sailmesh.runtime.local import RunningPod

#: The app: ``python3 -c ECHO_SCRIPT`` listens on 0.0.0.0:8080 of its pod.
ECHO_SCRIPT = """
import http.server, json, os
class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.rfile.read(int(self.headers.get('Content-Length') or 0))
        seen = {k.lower(): v for k, v in self.headers.items()}
        body = json.dumps({'pod': os.environ['POD_NAME'], 'method': self.command,
                           'path': self.path, 'headers': seen}).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_POST = do_PUT = do_DELETE = do_GET
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(('0.0.0.0', 8080), Echo).serve_forever()
"""

#: Runs in a client pod: argv[1] is a JSON list of [url, headers, method]; prints one JSON line
#: per call.
_CALLER = """
import json, sys, urllib.error, urllib.request
for url, headers, method in json.loads(sys.argv[1]):
    request = urllib.request.Request(url, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            status, body = answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read().decode()
    except Exception as exc:
        status, body = 0, repr(exc)
    print(json.dumps([status, body]), flush=True)
"""


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: the status (0 when the request failed) and the body."""

    status: int
    body: str

    @property
    def echo(self) -> dict[str, Any]:
        """The echo app's report (pod, path, headers); fails when the app did not answer."""
        assert self.status == 200, (self.status, self.body)
        data: dict[str, Any] = json.loads(self.body)
        return data

    @property
    def headers(self) -> dict[str, str]:
        """The request headers the app received."""
        found: dict[str, str] = self.echo["headers"]
        return found

    @property
    def pod(self) -> str:
        return str(self.echo["pod"])


Call = tuple[str, Mapping[str, str]] | tuple[str, Mapping[str, str], str]


def pod_calls(client: RunningPod, calls: Sequence[Call]) -> list[Answer]:
    """Make each ``(url, headers[, method])`` request (GET by default) from inside
    ``client``'s pod, in order."""
    wire = [[call[0], dict(call[1]), call[2] if len(call) == 3 else "GET"] for call in calls]
    argv = ["python3", "-c", _CALLER, json.dumps(wire)]
    result = client.sandbox.run(argv, env={"PATH": "/usr/bin:/bin"}, timeout=60)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == len(calls), result.stdout + result.stderr
    return [Answer(*json.loads(line)) for line in lines]


def pod_call(
    client: RunningPod, url: str, headers: Mapping[str, str] | None = None, method: str = "GET"
) -> Answer:
    (answer,) = pod_calls(client, [(url, headers or {}, method)])
    return answer


def host_call(port: int, path: str = "/", headers: Mapping[str, str] | None = None) -> Answer:
    """GET ``path`` from 127.0.0.1:``port`` on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=dict(headers or {}))
        response = conn.getresponse()
        return Answer(response.status, response.read().decode(errors="replace"))
    except OSError as exc:
        return Answer(0, repr(exc))
    finally:
        conn.close()
