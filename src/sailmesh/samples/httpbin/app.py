"""The httpbin endpoints (see the package docstring) on a :class:`~sailmesh.samples.web.App`."""

from __future__ import annotations

import json
import random
import time
import uuid

from ..web import App, Request, Response, json_response

MAX_DELAY = 10.0  # seconds, as both images cap /delay

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _title(name: str) -> str:
    """``x-b3-traceid`` -> ``X-B3-Traceid`` (Go's and Werkzeug's canonical header names)."""
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


class Flavour:
    """How one image shapes its answers: ``go`` keeps every value in a list."""

    def __init__(self, name: str) -> None:
        self.lists = name == "go"

    def values(self, items: dict[str, list[str]]) -> dict[str, Any]:
        if self.lists:
            return dict(items)
        return {k: v[0] if len(v) == 1 else v for k, v in items.items()}

    def headers(self, request: Request) -> dict[str, Any]:
        return self.values({_title(k): list(v) for k, v in request.header_lists.items()})

    def origin(self, request: Request) -> str:
        forwarded = request.headers.get("x-forwarded-for", "")
        if not forwarded:
            return request.client
        return forwarded.split(",")[0].strip() if self.lists else forwarded

    def url(self, request: Request) -> str:
        scheme = request.headers.get("x-forwarded-proto", "http")
        return f"{scheme}://{request.headers.get('host', '')}{request.target}"

    def echo(self, request: Request, body: bool) -> dict[str, Any]:
        """What ``/get`` (``body`` False) and ``/anything`` answer about the request."""
        out: dict[str, Any] = {
            "args": self.values(request.query),
            "headers": self.headers(request),
            "method": request.method,
            "origin": self.origin(request),
            "url": self.url(request),
        }
        if body:
            text = request.body.decode("utf-8", "replace")
            try:
                parsed = json.loads(text) if text else None
            except ValueError:
                parsed = None
            form = {}
            if request.headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded"
            ):
                form = {k: [v] for k, v in request.form().items() if k not in request.query}
            out.update(data=text, files={}, form=self.values(form), json=parsed)
        return out


def _pick_status(spec: str) -> int | None:
    """One code of ``200,503`` (uniform) or ``200:0.7,503:0.3`` (weighted); None: invalid."""
    codes: list[int] = []
    weights: list[float] = []
    for item in spec.split(","):
        code, _, weight = item.partition(":")
        if not code.strip().isdigit():
            return None
        codes.append(int(code))
        try:
            weights.append(float(weight) if weight else 1.0)
        except ValueError:
            return None
    if not codes or min(codes) < 100 or max(codes) > 599 or min(weights) < 0 or not sum(weights):
        return None
    return random.choices(codes, weights)[0]


def create_app(flavour_name: str) -> App:
    """The httpbin app answering in ``flavour_name``'s style (``go`` or ``python``)."""
    app = App("httpbin")
    flavour = Flavour(flavour_name)

    @app.route(r"/get")
    def get(request: Request) -> Response:
        return json_response(flavour.echo(request, body=False))

    for verb in ("post", "put", "patch", "delete"):
        app.route(f"/{verb}", (verb.upper(),))(
            lambda request: json_response(flavour.echo(request, body=True))
        )

    @app.route(r"/anything(?:/.*)?", ("*",))
    def anything(request: Request) -> Response:
        return json_response(flavour.echo(request, body=True))

    @app.route(r"/headers")
    def headers(request: Request) -> Response:
        return json_response({"headers": flavour.headers(request)})

    @app.route(r"/ip")
    def ip(request: Request) -> Response:
        return json_response({"origin": flavour.origin(request)})

    @app.route(r"/user-agent")
    def user_agent(request: Request) -> Response:
        return json_response({"user-agent": request.headers.get("user-agent", "")})

    @app.route(r"/uuid")
    def new_uuid(request: Request) -> Response:
        return json_response({"uuid": str(uuid.uuid4())})

    @app.route(r"/status/([^/]+)", ("*",))
    def status(request: Request) -> Response:
        code = _pick_status(request.params[0])
        if code is None:
            return json_response({"error": "invalid status code"}, 400)
        return Response(code, b"")

    @app.route(r"/delay/([^/]+)", ("*",))
    def delay(request: Request) -> Response:
        try:
            seconds = min(max(float(request.params[0].rstrip("s")), 0.0), MAX_DELAY)
        except ValueError:
            return json_response({"error": "invalid delay"}, 400)
        time.sleep(seconds)
        return json_response(flavour.echo(request, body=True))

    @app.route(r"/response-headers", ("GET", "POST"))
    def response_headers(request: Request) -> Response:
        pairs = [(k, v) for k, values in request.query.items() for v in values]
        body: dict[str, list[str]] = {"Content-Type": ["application/json"]}
        for name, value in pairs:
            body.setdefault(name, []).append(value)
        response = json_response(flavour.values(body))
        response.headers.extend(pairs)
        return response

    @app.route(r"/")
    def index(request: Request) -> Response:
        return Response(200, b"httpbin: HTTP request & response service (sailmesh stand-in)\n")

    return app
