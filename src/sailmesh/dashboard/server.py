"""The dashboard's HTTP server: the page, its vendored scripts and the JSON it reads.

Routes (all ``GET``; the dashboard changes nothing):
  /                                   the single page (``static/index.html``)
  /static/...                         its scripts, styles and the vendored libraries
  /api/graph?window=1m                the service graph over a window (10s, 1m, 5m, 1h)
  /api/service/{ns}/{name}?window=    a service: traffic, endpoints, objects, messages
  /api/workload/{ns}/{name}?window=   a workload: traffic, proxies, objects, messages
  /api/config                         every applied object with its status and messages
  /api/config/{kind}/{ns}/{name}      one object with its YAML (``_`` for no namespace)
  /api/proxies                        sync status, NACKs and certificates of every proxy
  /api/proxies/{node}/{what}          Envoy's clusters, listeners or routes of a proxy
  /api/traces?service=&minDuration=&limit=   recent traces, newest first, with filters
  /api/traces/{trace_id}              one trace's spans laid out as a waterfall
Each handler calls one function of :mod:`~sailmesh.dashboard.views` (traces:
:mod:`~sailmesh.dashboard.trace_views`) on a worker thread.

Who can reach it: it listens on 127.0.0.1 only, so anyone with a shell on this host (any
user) can read it, as with ``istioctl dashboard``'s port forwards: it shows config and
traffic, never keys (Envoy's ``/certs`` lists certificates, not private keys), and it has no
route that changes anything. A web page in the user's browser cannot read it through DNS
rebinding: requests whose ``Host`` is not ``127.0.0.1``/``localhost`` are refused.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

from aiohttp import web

from sailmesh.dashboard import trace_views, views
from sailmesh.dashboard.views import Sources

log = logging.getLogger("sailmesh.dashboard")

#: The port the dashboard asks for first (Kiali's); any free one when it is taken.
DEFAULT_PORT = 20001
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
STATIC = Path(str(files("sailmesh.dashboard") / "static"))


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


View = Callable[[web.Request], dict[str, Any]]


def _route(view: View) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        try:
            return _json(await asyncio.to_thread(view, request))
        except LookupError as exc:
            return _json({"error": str(exc).strip("'\"")}, 404)
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)

    return handler


@web.middleware
async def _local_only(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    host = (request.host or "").rsplit(":", 1)[0].strip("[]")
    if host not in LOCAL_HOSTS:
        return web.Response(status=403, text="the dashboard answers 127.0.0.1 and localhost only\n")
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def build_app(src: Sources) -> web.Application:
    app = web.Application(middlewares=[_local_only])

    def window(r: web.Request) -> str:
        return r.query.get("window", "1m")

    def m(r: web.Request, key: str) -> str:
        return r.match_info[key]

    routes: dict[str, View] = {
        "/api/graph": lambda r: views.graph(src, window(r)),
        "/api/service/{ns}/{name}": lambda r: views.service(
            src, m(r, "ns"), m(r, "name"), window(r)
        ),
        "/api/workload/{ns}/{name}": lambda r: views.workload(
            src, m(r, "ns"), m(r, "name"), window(r)
        ),
        "/api/config": lambda r: views.config(src),
        "/api/config/{kind}/{ns}/{name}": lambda r: views.config_object(
            src, m(r, "kind"), "" if m(r, "ns") == "_" else m(r, "ns"), m(r, "name")
        ),
        "/api/proxies": lambda r: views.proxies(src),
        "/api/proxies/{node}/{what}": lambda r: views.proxy_config(src, m(r, "node"), m(r, "what")),
        "/api/traces": lambda r: trace_views.traces(
            src.cp.traces, r.query.get("service"), r.query.get("minDuration"), r.query.get("limit")
        ),
        "/api/traces/{trace_id}": lambda r: trace_views.trace(src.cp.traces, m(r, "trace_id")),
    }
    for path, view in routes.items():
        app.router.add_get(path, _route(view))

    async def index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC, follow_symlinks=False)
    return app


class DashboardServer:
    """Serves the dashboard on 127.0.0.1 (on the asyncio loop of the control plane)."""

    def __init__(self, src: Sources, port: int = DEFAULT_PORT) -> None:
        self.src = src
        self.wanted_port = port
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def start(self) -> str:
        self._runner = web.AppRunner(build_app(self.src), access_log=None)
        await self._runner.setup()
        for port in dict.fromkeys((self.wanted_port, 0)):
            site = web.TCPSite(self._runner, "127.0.0.1", port)
            try:
                await site.start()
            except OSError:
                log.info("port %d is taken; the dashboard takes a free one", port)
                continue
            self.port = int(self._runner.addresses[-1][1])
            return self.url
        raise OSError("the dashboard found no free port on 127.0.0.1")

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
