"""HTML for productpage: the product page, the index and the sign-in page.

Stars are rendered so tests can count them: each star is exactly one
``<span class="glyphicon glyphicon-star" style="color:COLOR"></span>`` inside
``<font color="COLOR">`` (no empty-star glyphs), and nothing else on the page says
``color:`` or ``color=``.
"""

from __future__ import annotations

from html import escape

TYPE_CHECKING = False  # typing/dataclasses stay unimported: start-up time matters
if TYPE_CHECKING:
    from typing import Any

CSS = b"""body { font-family: sans-serif; margin: 0; }
.navbar { background: #222; color: #ddd; padding: 8px 16px; }
.navbar a { color: #ddd; }
.container { padding: 0 16px; }
.glyphicon-star::before { content: "\\2605"; }
blockquote { border-left: 4px solid #ddd; margin: 12px 0; padding: 4px 12px; }
dt { font-weight: bold; }
"""

_HEAD = (
    '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
    '<link rel="stylesheet" href="/static/bookinfo.css">\n</head>\n<body>\n'
)
_DETAIL_FIELDS = (
    ("type", "Type"),
    ("pages", "Pages"),
    ("publisher", "Publisher"),
    ("language", "Language"),
    ("ISBN-10", "ISBN-10"),
    ("ISBN-13", "ISBN-13"),
)


def _e(value: object) -> str:
    return escape(str(value))


def _navbar(user: str) -> str:
    if user:
        account = f'Signed in as: <b>{_e(user)}</b> <a href="/logout">sign out</a>'
    else:
        account = '<a href="/login">Sign in</a>'
    return f'<nav class="navbar"><a href="/productpage">BookInfo Sample</a> | {account}</nav>\n'


def _details_html(status: int, details: dict[str, Any]) -> str:
    if status != 200:
        return f"<h4>Error fetching product details!</h4>\n<p>{_e(details.get('error', ''))}</p>\n"
    rows = "".join(
        f"<dt>{label}:</dt><dd>{_e(details[key])}</dd>\n"
        for key, label in _DETAIL_FIELDS
        if key in details
    )
    return f"<h4>Book Details</h4>\n<dl>\n{rows}</dl>\n"


def stars_html(rating: dict[str, Any]) -> str:
    """One review's rating: N coloured star glyphs, or the rating's error text."""
    stars = rating.get("stars")
    if isinstance(stars, int) and stars > 0:
        color = _e(rating.get("color", "black"))
        glyph = f'<span class="glyphicon glyphicon-star" style="color:{color}"></span>'
        return f'<font color="{color}">{glyph * min(stars, 5)}</font>\n'
    if "error" in rating:
        return f"<p><i>{_e(rating['error'])}</i></p>\n"
    return ""


def _reviews_html(status: int, reviews: dict[str, Any]) -> str:
    if status != 200:
        return f"<h4>Error fetching product reviews!</h4>\n<p>{_e(reviews.get('error', ''))}</p>\n"
    parts = ["<h4>Book Reviews</h4>\n"]
    for review in reviews.get("reviews") or []:
        parts.append(
            f"<blockquote>\n<p>{_e(review.get('text', ''))}</p>\n"
            f"<small>{_e(review.get('reviewer', ''))}</small>\n"
        )
        rating = review.get("rating")
        if isinstance(rating, dict):
            parts.append(stars_html(rating))
        parts.append("</blockquote>\n")
    served_by = f"<u>{_e(reviews.get('podname', ''))}</u>"
    cluster = reviews.get("clustername")
    if cluster and cluster != "null":
        served_by += f" on cluster <u>{_e(cluster)}</u>"
    parts.append(f"<dl>\n<dt>Reviews served by:</dt>\n<dd>{served_by}</dd>\n</dl>\n")
    return "".join(parts)


def product_page(
    product: dict[str, Any],
    user: str,
    details: tuple[int, dict[str, Any]],
    reviews: tuple[int, dict[str, Any]],
) -> str:
    """The ``/productpage`` HTML: summary, details and reviews (or their error messages)."""
    return _page(
        "Simple Bookstore App",
        user,
        f'<h3 class="text-center">{_e(product["title"])}</h3>\n'
        + f"<p>Summary: {product['descriptionHtml']}</p>\n"
        + '<div class="details">\n'
        + _details_html(*details)
        + '</div>\n<div class="reviews">\n'
        + _reviews_html(*reviews)
        + "</div>\n",
    )


def _page(title: str, user: str, body: str) -> str:
    """A whole HTML page: head, navigation bar and ``body`` in the container."""
    return (
        _HEAD.format(title=title)
        + _navbar(user)
        + '<div class="container">\n'
        + body
        + "</div>\n</body>\n</html>\n"
    )


def index_page() -> str:
    """The ``/`` page: what the application is, and where to go."""
    return _page(
        "Simple Bookstore App",
        "",
        "<h3>Hello! This is a simple bookstore application"
        " consisting of four services as shown below</h3>\n<ul>\n"
        "<li>productpage: calls details and reviews</li>\n"
        "<li>details: book information</li>\n"
        "<li>reviews: book reviews; v2 and v3 call ratings</li>\n"
        "<li>ratings: star ratings</li>\n</ul>\n"
        '<p><a href="/productpage?u=normal">Normal user</a> | '
        '<a href="/productpage?u=test">Test user</a></p>\n',
    )


def login_page() -> str:
    """The ``GET /login`` page: a sign-in form (any password is accepted)."""
    return _page(
        "Sign in",
        "",
        "<h3>Please sign in</h3>\n"
        '<form method="post" action="/login">\n'
        '<input type="text" name="username" placeholder="User Name">\n'
        '<input type="password" name="passwd" placeholder="Password">\n'
        '<button type="submit">Sign in</button>\n</form>\n',
    )
