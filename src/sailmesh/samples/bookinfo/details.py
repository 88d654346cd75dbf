"""The details service: static facts about the book, as Istio's ``details`` v1 returns them."""

from __future__ import annotations

from ..web import App, Request, Response, json_response


def book_details(product_id: int) -> dict[str, object]:
    """The details document of ``product_id`` (every product is the same paperback)."""
    return {
        "id": product_id,
        "author": "William Shakespeare",
        "year": 1595,
        "type": "paperback",
        "pages": 200,
        "publisher": "PublisherA",
        "language": "English",
        "ISBN-10": "1234567890",
        "ISBN-13": "123-1234567890",
    }


def create_app(version: str = "v1") -> App:
    """The details app: ``GET /details/<id>`` and ``GET /health``."""
    app = App(f"details-{version}")

    app.add_health("Details is healthy")

    @app.route(r"/details/([^/]*)")
    def details(request: Request) -> Response:
        try:
            product_id = int(request.params[0])
        except ValueError:
            return json_response({"error": "please provide numeric product id"}, 400)
        return json_response(book_details(product_id))

    return app
