"""The productpage service: the bookinfo web page and its JSON API.

It calls ``details`` and ``reviews`` (and ``ratings`` for ``/api/v1/products/<id>/ratings``)
with a 3 s timeout, tries reviews twice like Istio's, forwards the inbound tracing headers and
sends ``end-user: <user>`` when someone is signed in (the header Istio's routing tasks match).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from urllib.parse import quote, unquote

from ..web import App, Request, Response, html_response, json_response, redirect
from . import page
from .common import Upstream, propagated_headers

TYPE_CHECKING = False  # typing/dataclasses stay unimported: start-up time matters
if TYPE_CHECKING:
    from typing import Any

TIMEOUT = 3.0
SESSION_COOKIE = "session"
DETAILS_ERROR = "Sorry, product details are currently unavailable for this book."
REVIEWS_ERROR = "Sorry, product reviews are currently unavailable for this book."
RATINGS_ERROR = "Sorry, product ratings are currently unavailable for this book."
PRODUCTS: list[dict[str, Any]] = [
    {
        "id": 0,
        "title": "The Comedy of Errors",
        "descriptionHtml": (
            '<a href="https://en.wikipedia.org/wiki/The_Comedy_of_Errors">Wikipedia Summary</a>:'
            " The Comedy of Errors is one of <b>William Shakespeare's</b> early plays. It is his"
            " shortest and one of his most farcical comedies, with a major part of the humour"
            " coming from slapstick and mistaken identity, in addition to puns and word play."
        ),
    }
]


class Sessions:
    """Signed session cookies: ``<quoted user>.<hmac>``, so users cannot forge each other."""

    def __init__(self, secret: str) -> None:
        self._key = secret.encode()

    def _sign(self, value: str) -> str:
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()[:32]

    def encode(self, user: str) -> str:
        """The cookie value for ``user``."""
        quoted = quote(user, safe="")
        return f"{quoted}.{self._sign(quoted)}"

    def user(self, request: Request) -> str:
        """The signed-in user of ``request``, or ``""``."""
        value = request.cookie(SESSION_COOKIE) or ""
        quoted, _, signature = value.rpartition(".")
        if quoted and hmac.compare_digest(signature, self._sign(quoted)):
            return unquote(quoted)
        return ""


class Backends:
    """The services productpage calls, and how (timeouts, retries, headers)."""

    def __init__(self) -> None:
        self.details = Upstream.from_env("details")
        self.reviews = Upstream.from_env("reviews")
        self.ratings = Upstream.from_env("ratings")

    @staticmethod
    def _result(status: int, body: Any, error: str) -> tuple[int, dict[str, Any]]:
        if status == 200 and isinstance(body, dict):
            return 200, body
        return (status if status and status != 200 else 500), {"error": error}

    def details_of(self, product_id: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """``(status, details)`` of a product, or an error document."""
        status, body = self.details.get_json(f"/details/{product_id}", headers, TIMEOUT)
        return self._result(status, body, DETAILS_ERROR)

    def reviews_of(self, product_id: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """``(status, reviews)`` of a product; tried twice, as Istio's productpage does."""
        status, body = 0, None
        for _ in range(2):
            status, body = self.reviews.get_json(f"/reviews/{product_id}", headers, TIMEOUT)
            if status == 200 and isinstance(body, dict):
                break
        return self._result(status, body, REVIEWS_ERROR)

    def ratings_of(self, product_id: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """``(status, ratings)`` of a product, or an error document."""
        status, body = self.ratings.get_json(f"/ratings/{product_id}", headers, TIMEOUT)
        return self._result(status, body, RATINGS_ERROR)


def create_app(version: str = "v1") -> App:
    """The productpage app (``version`` only names it in the logs)."""
    app = App(f"productpage-{version}")
    sessions = Sessions(os.environ.get("SESSION_SECRET") or "sailmesh-bookinfo")
    backends = Backends()

    def forward(request: Request) -> dict[str, str]:
        headers = propagated_headers(request.headers)
        user = sessions.user(request)
        if user:
            headers["end-user"] = user
        return headers

    def as_json(result: tuple[int, dict[str, Any]]) -> Response:
        return json_response(result[1], result[0])

    @app.route(r"/|/index\.html")
    def index(request: Request) -> Response:
        return html_response(page.index_page())

    app.add_health("Product page is healthy")

    @app.route(r"/login")
    def login_form(request: Request) -> Response:
        return html_response(page.login_page())

    @app.route(r"/login", methods=("POST",))
    def login(request: Request) -> Response:
        user = request.form().get("username", "").strip()
        if not user:
            return redirect("/productpage")
        cookie = f"{SESSION_COOKIE}={sessions.encode(user)}; Path=/; HttpOnly"
        return redirect("/productpage", [("Set-Cookie", cookie)])

    @app.route(r"/logout", methods=("GET", "POST"))
    def logout(request: Request) -> Response:
        cookie = f"{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly"
        return redirect("/productpage", [("Set-Cookie", cookie)])

    @app.route(r"/productpage")
    def productpage(request: Request) -> Response:
        headers = forward(request)
        details = backends.details_of("0", headers)
        reviews = backends.reviews_of("0", headers)
        html = page.product_page(PRODUCTS[0], sessions.user(request), details, reviews)
        return html_response(html)

    @app.route(r"/api/v1/products")
    def products(request: Request) -> Response:
        return json_response(PRODUCTS)

    @app.route(r"/api/v1/products/([^/]+)")
    def product(request: Request) -> Response:
        return as_json(backends.details_of(request.params[0], forward(request)))

    @app.route(r"/api/v1/products/([^/]+)/reviews")
    def product_reviews(request: Request) -> Response:
        return as_json(backends.reviews_of(request.params[0], forward(request)))

    @app.route(r"/api/v1/products/([^/]+)/ratings")
    def product_ratings(request: Request) -> Response:
        return as_json(backends.ratings_of(request.params[0], forward(request)))

    @app.route(r"/static/bookinfo\.css")
    def stylesheet(request: Request) -> Response:
        return Response(200, page.CSS, "text/css; charset=utf-8")

    return app
