"""details, ratings and reviews (v1/v2/v3) as real processes: their JSON and their calls."""

from __future__ import annotations

import json

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

REVIEW_TEXTS = [
    "An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!",
    "Absolutely fun and entertaining. The play lacks thematic depth when compared to other "
    "plays by Shakespeare.",
]


@pytest.fixture(scope="module")
def mesh(launcher: Launcher) -> dict[str, Service]:
    """details, ratings, and reviews v1/v2/v3 pointed at ratings; v2-down has no ratings."""
    ratings = launcher.spawn("ratings", port=free_port())
    to_ratings = upstream_env(ratings=ratings.port)
    dead = upstream_env(ratings=free_port())  # nothing listens there
    details, v1, v2, v3, v2_down = launcher.start(
        ("details", None, None),
        ("reviews", "v1", to_ratings),
        ("reviews", "v2", to_ratings | {"CLUSTER_NAME": "east"}),
        ("reviews", "v3", to_ratings),
        ("reviews", "v2", dead),
    )
    ratings.wait_ready()
    return {
        "ratings": ratings,
        "details": details,
        "v1": v1,
        "v2": v2,
        "v3": v3,
        "v2-down": v2_down,
    }


def test_details_document(mesh: dict[str, Service]) -> None:
    assert get_json(mesh["details"].port, "/details/0") == (
        200,
        {
            "id": 0,
            "author": "William Shakespeare",
            "year": 1595,
            "type": "paperback",
            "pages": 200,
            "publisher": "PublisherA",
            "language": "English",
            "ISBN-10": "1234567890",
            "ISBN-13": "123-1234567890",
        },
    )
    status, body = get_json(mesh["details"].port, "/details/abc")
    assert status == 400 and "error" in body


def test_health_endpoints(mesh: dict[str, Service]) -> None:
    for name in ("details", "ratings", "v1", "v3"):
        status, body = get_json(mesh[name].port, "/health")
        assert status == 200 and "healthy" in body["status"]
    assert get(mesh["details"].port, "/nope")[0] == 404


def test_ratings_get_and_post(mesh: dict[str, Service]) -> None:
    port = mesh["ratings"].port
    assert get_json(port, "/ratings/0") == (
        200,
        {"id": 0, "ratings": {"Reviewer1": 5, "Reviewer2": 4}},
    )
    status, _, text = get(
        port, "/ratings/7", method="POST", body=b'{"Reviewer1": 1, "Reviewer2": 2}'
    )
    assert status == 200 and json.loads(text)["ratings"] == {"Reviewer1": 1, "Reviewer2": 2}
    assert get_json(port, "/ratings/7") == (
        200,
        {"id": 7, "ratings": {"Reviewer1": 1, "Reviewer2": 2}},
    )
    assert get_json(port, "/ratings/x")[0] == 400


def test_reviews_v1_has_no_ratings(mesh: dict[str, Service]) -> None:
    status, body = get_json(mesh["v1"].port, "/reviews/0")
    assert status == 200
    assert body["id"] == "0"
    assert body["podname"] == "reviews-v1-test"
    assert body["clustername"] == "null"
    assert [r["reviewer"] for r in body["reviews"]] == ["Reviewer1", "Reviewer2"]
    assert [r["text"] for r in body["reviews"]] == REVIEW_TEXTS
    assert all("rating" not in r for r in body["reviews"])


@pytest.mark.parametrize(("version", "color"), [("v2", "black"), ("v3", "red")])
def test_reviews_v2_v3_stars(mesh: dict[str, Service], version: str, color: str) -> None:
    status, body = get_json(mesh[version].port, "/reviews/0")
    assert status == 200
    assert [r["rating"] for r in body["reviews"]] == [
        {"stars": 5, "color": color},
        {"stars": 4, "color": color},
    ]
    if version == "v2":
        assert body["clustername"] == "east"


def test_reviews_when_ratings_is_down(mesh: dict[str, Service]) -> None:
    status, body = get_json(mesh["v2-down"].port, "/reviews/0")
    assert status == 200
    assert [r["rating"] for r in body["reviews"]] == [
        {"error": "Ratings service is currently unavailable"}
    ] * 2


def test_reviews_forwards_tracing_headers_and_end_user(launcher: Launcher) -> None:
    ratings_json = {"id": 0, "ratings": {"Reviewer1": 3, "Reviewer2": 1}}
    with capture(Reply(200, ratings_json)) as fake_ratings:
        (reviews,) = launcher.start(("reviews", "v3", upstream_env(ratings=fake_ratings.port)))
        inbound = {
            "end-user": "jason",
            "x-request-id": "req-1",
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "x-b3-traceid": "abc",
            "x-datadog-trace-id": "42",
            "cookie": "session=secret",
            "x-unrelated": "no",
        }
        status, body = get_json(reviews.port, "/reviews/0", inbound)
    assert status == 200
    assert [r["rating"]["stars"] for r in body["reviews"]] == [3, 1]
    ((path, sent),) = fake_ratings.requests
    assert path == "/ratings/0"
    for name in ("end-user", "x-request-id", "traceparent", "x-b3-traceid", "x-datadog-trace-id"):
        assert sent[name] == inbound[name]
    assert "cookie" not in sent and "x-unrelated" not in sent
