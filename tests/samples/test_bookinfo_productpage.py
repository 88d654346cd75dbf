"""productpage as a real process against real (or stand-in) details, reviews and ratings."""

from __future__ import annotations

import re

import pytest
from bookinfo_harness import (
    Launcher,
    Reply,
    Service,
    capture,
    free_port,
    get,
    get_json,
    upstream_env,
)

STAR = re.compile(r'<span class="glyphicon glyphicon-star" style="color:(\w+)"></span>')
REVIEWS_SORRY = "Sorry, product reviews are currently unavailable for this book."
DETAILS_SORRY = "Sorry, product details are currently unavailable for this book."
REVIEWS_V1_JSON = {
    "id": "0",
    "podname": "fake",
    "clustername": "null",
    "reviews": [{"reviewer": "Reviewer1", "text": "Good."}],
}


@pytest.fixture(scope="module")
def pages(launcher: Launcher) -> dict[str, Service]:
    """productpage instances, one per reviews version, and one whose ratings are down."""
    ports = {name: free_port() for name in ("ratings", "details", "v1", "v2", "v3", "v2-down")}
    to_ratings = upstream_env(ratings=ports["ratings"])
    to_nothing = upstream_env(ratings=free_port())
    backends = [
        launcher.spawn("ratings", port=ports["ratings"]),
        launcher.spawn("details", port=ports["details"]),
        launcher.spawn("reviews", "v1", to_ratings, port=ports["v1"]),
        launcher.spawn("reviews", "v2", to_ratings, port=ports["v2"]),
        launcher.spawn("reviews", "v3", to_ratings, port=ports["v3"]),
        launcher.spawn("reviews", "v2", to_nothing, port=ports["v2-down"]),
    ]
    fronts = {
        name: launcher.spawn(
            "productpage",
            None,
            upstream_env(details=ports["details"], reviews=ports[name], ratings=ports["ratings"]),
        )
        for name in ("v1", "v2", "v3", "v2-down")
    }
    for svc in [*backends, *fronts.values()]:
        svc.wait_ready()
    return fronts


def page(port: int, headers: dict[str, str] | None = None) -> str:
    status, _, html = get(port, "/productpage", headers)
    assert status == 200
    return html


def login(port: int, user: str) -> str:
    """Sign in; returns the ``session=...`` cookie pair."""
    status, headers, _ = get(
        port,
        "/login",
        {"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
        body=f"username={user}&passwd=whatever".encode(),
    )
    assert status == 302
    assert headers["Location"].endswith("/productpage")
    cookie = headers["Set-Cookie"].split(";")[0]
    assert cookie.startswith("session=")
    return cookie


def test_page_with_reviews_v1_has_no_stars(pages: dict[str, Service]) -> None:
    html = page(pages["v1"].port)
    assert "The Comedy of Errors" in html
    assert "William Shakespeare" in html and "PublisherA" in html and "1234567890" in html
    assert "Reviewer1" in html and "Reviewer2" in html
    assert "The slapstick humour is refreshing!" in html
    assert STAR.findall(html) == []
    assert "glyphicon-star" not in html
    assert "Ratings service is currently unavailable" not in html


@pytest.mark.parametrize(("version", "color"), [("v2", "black"), ("v3", "red")])
def test_page_stars(pages: dict[str, Service], version: str, color: str) -> None:
    html = page(pages[version].port)
    assert STAR.findall(html) == [color] * 9  # 5 + 4 stars
    assert html.count(f'<font color="{color}">') == 2
    other = "red" if color == "black" else "black"
    assert f"color:{other}" not in html and f'color="{other}"' not in html


def test_ratings_down_shows_rating_error(pages: dict[str, Service]) -> None:
    html = page(pages["v2-down"].port)
    assert html.count("Ratings service is currently unavailable") == 2
    assert STAR.findall(html) == []
    assert "Reviewer1" in html


def test_api_endpoints(pages: dict[str, Service]) -> None:
    port = pages["v3"].port
    status, products = get_json(port, "/api/v1/products")
    assert status == 200 and products[0]["id"] == 0
    assert products[0]["title"] == "The Comedy of Errors"
    status, details = get_json(port, "/api/v1/products/0")
    assert status == 200 and details["ISBN-13"] == "123-1234567890"
    status, reviews = get_json(port, "/api/v1/products/0/reviews")
    assert status == 200
    assert reviews["podname"] == "reviews-v3-test"
    assert [r["rating"] for r in reviews["reviews"]] == [
        {"stars": 5, "color": "red"},
        {"stars": 4, "color": "red"},
    ]
    assert get_json(port, "/api/v1/products/0/ratings") == (
        200,
        {"id": 0, "ratings": {"Reviewer1": 5, "Reviewer2": 4}},
    )
    assert get_json(port, "/health") == (200, {"status": "Product page is healthy"})
    status, headers, css = get(port, "/static/bookinfo.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css") and css


def test_login_page_logout_and_forged_cookie(pages: dict[str, Service]) -> None:
    port = pages["v1"].port
    status, _, form = get(port, "/login")
    assert status == 200 and 'name="username"' in form
    cookie = login(port, "jason")
    assert "Signed in as: <b>jason</b>" in page(port, {"Cookie": cookie})
    assert "Signed in as" not in page(port)
    forged = "session=" + "admin." + cookie.rpartition(".")[2]
    assert "Signed in as" not in page(port, {"Cookie": forged})
    status, headers, _ = get(port, "/logout", {"Cookie": cookie})
    assert status == 302 and "Max-Age=0" in headers["Set-Cookie"]


def test_end_user_and_tracing_headers_reach_reviews_and_details(launcher: Launcher) -> None:
    with capture(Reply(200, REVIEWS_V1_JSON)) as reviews, capture(Reply(200, {"id": 0})) as details:
        (front,) = launcher.start(
            ("productpage", None, upstream_env(reviews=reviews.port, details=details.port))
        )
        cookie = login(front.port, "jason")
        inbound = {
            "Cookie": cookie,
            "x-request-id": "req-42",
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "tracestate": "vendor=1",
            "x-b3-traceid": "80f198ee56343ba864fe8b2a57d3eff7",
            "x-b3-spanid": "e457b5a2e4d86bd1",
            "x-b3-sampled": "1",
            "b3": "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1",
            "x-ot-span-context": "ctx",
            "x-datadog-trace-id": "7",
            "x-cloud-trace-context": "105445aa7843bc8bf206b12000100000/1;o=1",
            "grpc-trace-bin": "AAA",
            "User-Agent": "bookinfo-test",
            "x-private": "nope",
        }
        html = page(front.port, inbound)
        assert "Good." in html
        anonymous = page(front.port, {"x-request-id": "req-43"})
        assert "Good." in anonymous
    (path, sent), (_, sent_anonymous) = reviews.requests
    assert path == "/reviews/0"
    assert sent["end-user"] == "jason"
    for name, value in inbound.items():
        if name.lower() not in ("cookie", "x-private"):
            assert sent[name.lower()] == value, name
    assert "cookie" not in sent and "x-private" not in sent
    assert details.requests[0][0] == "/details/0"
    assert details.requests[0][1]["end-user"] == "jason"
    assert details.requests[0][1]["x-request-id"] == "req-42"
    assert "end-user" not in sent_anonymous
    assert sent_anonymous["x-request-id"] == "req-43"


def test_reviews_failing_shows_sorry_after_two_tries(launcher: Launcher) -> None:
    with capture(Reply(503, {"error": "down"})) as reviews:
        (front,) = launcher.start(
            ("productpage", None, upstream_env(reviews=reviews.port, details=free_port()))
        )
        html = page(front.port)
        assert REVIEWS_SORRY in html
        assert DETAILS_SORRY in html
        assert len(reviews.requests) == 2
        status, body = get_json(front.port, "/api/v1/products/0/reviews")
        assert (status, body) == (503, {"error": REVIEWS_SORRY})
        assert len(reviews.requests) == 4


def test_reviews_unreachable_shows_sorry(launcher: Launcher) -> None:
    (front,) = launcher.start(
        ("productpage", None, upstream_env(reviews=free_port(), details=free_port()))
    )
    html = page(front.port)
    assert REVIEWS_SORRY in html and DETAILS_SORRY in html
    assert get_json(front.port, "/api/v1/products/0")[0] == 500
