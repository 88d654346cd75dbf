"""The ratings service: star ratings per reviewer, as Istio's ``ratings`` v1 serves them.

``GET /ratings/<id>`` returns the ratings, ``POST /ratings/<id>`` replaces them (in memory).
Istio's fault-demo versions are supported too: ``v-faulty`` answers half of the requests with
503 and ``v-delayed`` delays half of them by 7 seconds.
"""

from __future__ import annotations

import json
import random
import threading
import time

from ..web import App, Request, Response, json_response

DEFAULT_RATINGS: dict[str, int] = {"Reviewer1": 5, "Reviewer2": 4}


def create_app(version: str = "v1") -> App:
    """The ratings app: ``/ratings/<id>`` (GET, POST) and ``GET /health``."""
    app = App(f"ratings-{version}")
    stored: dict[int, dict[str, int]] = {}
    lock = threading.Lock()

    app.add_health("Ratings is healthy")

    @app.route(r"/ratings/([^/]*)", methods=("GET", "POST"))
    def ratings(request: Request) -> Response:
        try:
            product_id = int(request.params[0])
        except ValueError:
            return json_response({"error": "please provide numeric product ID"}, 400)
        if request.method == "POST":
            try:
                update = json.loads(request.body or b"null")
            except ValueError:
                update = None
            if not isinstance(update, dict) or not all(isinstance(v, int) for v in update.values()):
                return json_response({"error": "please provide valid ratings JSON"}, 400)
            with lock:
                stored[product_id] = {str(k): v for k, v in update.items()}
        elif version == "v-faulty" and random.random() < 0.5:
            return json_response({"error": "Service unavailable"}, 503)
        elif version == "v-delayed" and random.random() < 0.5:
            time.sleep(7)
        with lock:
            current = dict(stored.get(product_id, DEFAULT_RATINGS))
        return json_response({"id": product_id, "ratings": current})

    return app
