"""The reviews service, in Istio's three versions.

* v1 returns the two reviews without ratings;
* v2 asks ratings (10 s timeout) and shows black stars;
* v3 asks ratings (2.5 s timeout) and shows red stars.

``ENABLE_RATINGS`` and ``STAR_COLOR`` override the version's defaults, as in Istio's image. The
tracing headers and ``end-user`` of the inbound request are forwarded to ratings.
"""

from __future__ import annotations

import os
import socket

from ..web import App, Request, Response, json_response
from .common import Upstream, propagated_headers

REVIEWS: tuple[tuple[str, str], ...] = (
    (
        "Reviewer1",
        "An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!",
    ),
    (
        "Reviewer2",
        "Absolutely fun and entertaining. The play lacks thematic depth when compared to other "
        "plays by Shakespeare.",
    ),
)
RATINGS_UNAVAILABLE = "Ratings service is currently unavailable"


class ReviewsConfig:
    """What one reviews version does."""

    __slots__ = ("ratings_enabled", "ratings_timeout", "star_color")

    def __init__(self, ratings_enabled: bool, star_color: str, ratings_timeout: float) -> None:
        self.ratings_enabled = ratings_enabled
        self.star_color = star_color
        self.ratings_timeout = ratings_timeout

    @classmethod
    def for_version(cls, version: str) -> ReviewsConfig:
        """The behaviour of ``version`` (v1/v2/v3), adjusted by ``ENABLE_RATINGS``/``STAR_COLOR``."""
        enabled = version != "v1"
        color = "red" if version == "v3" else "black"
        flag = os.environ.get("ENABLE_RATINGS")
        if flag is not None:
            enabled = flag.strip().lower() == "true"
        color = os.environ.get("STAR_COLOR") or color
        return cls(enabled, color, 10.0 if color == "black" else 2.5)


def reviews_document(
    product_id: str, config: ReviewsConfig, stars: dict[str, int] | None
) -> dict[str, object]:
    """The response body; ``stars`` is None when ratings could not be fetched."""
    reviews: list[dict[str, object]] = []
    for reviewer, text in REVIEWS:
        review: dict[str, object] = {"reviewer": reviewer, "text": text}
        if config.ratings_enabled:
            if stars is not None and reviewer in stars:
                review["rating"] = {"stars": stars[reviewer], "color": config.star_color}
            else:
                review["rating"] = {"error": RATINGS_UNAVAILABLE}
        reviews.append(review)
    return {
        "id": product_id,
        "podname": os.environ.get("POD_NAME") or os.environ.get("HOSTNAME") or socket.gethostname(),
        "clustername": os.environ.get("CLUSTER_NAME") or "null",
        "reviews": reviews,
    }


def fetch_stars(
    ratings: Upstream, product_id: str, request: Request, timeout: float
) -> dict[str, int] | None:
    """Reviewer -> stars from the ratings service, or None when it is unavailable."""
    headers = propagated_headers(request.headers, extra=("end-user",))
    status, body = ratings.get_json(f"/ratings/{product_id}", headers, timeout)
    if status != 200 or not isinstance(body, dict):
        return None
    found = body.get("ratings")
    if not isinstance(found, dict):
        return None
    return {str(k): v for k, v in found.items() if isinstance(v, int) and not isinstance(v, bool)}


def create_app(version: str = "v1") -> App:
    """The reviews app of ``version``: ``GET /reviews/<id>`` and ``GET /health``."""
    config = ReviewsConfig.for_version(version)
    ratings = Upstream.from_env("ratings")
    app = App(f"reviews-{version}")

    app.add_health("Reviews is healthy")

    @app.route(r"/reviews/(-?\d+)")
    def reviews(request: Request) -> Response:
        product_id = str(int(request.params[0]))
        stars = None
        if config.ratings_enabled:
            stars = fetch_stars(ratings, product_id, request, config.ratings_timeout)
        return json_response(reviews_document(product_id, config, stars))

    return app
