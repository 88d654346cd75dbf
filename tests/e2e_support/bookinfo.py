"""Bookinfo through the gateway, for end-to-end tests: page loads, star colours, login."""

from __future__ import annotations

import http.client
import time
from pathlib import Path
from urllib.parse import urlencode

from e2e_support.localmesh import LocalMeshThread

BOOKINFO = Path(__file__).resolve().parents[2] / "samples" / "bookinfo"
NETWORKING = BOOKINFO / "networking"


def page(port: int, cookie: str | None = None) -> str:
    """One ``/productpage`` load through 127.0.0.1:``port``; it must answer 200."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/productpage", headers={"Cookie": cookie} if cookie else {})
        resp = conn.getresponse()
        body = resp.read().decode()
        assert resp.status == 200, (resp.status, body[:300])
        return body
    finally:
        conn.close()


def stars(body: str) -> str:
    """'red', 'black' or 'none' for a productpage body that did get its reviews."""
    red, black = "color:red" in body, "color:black" in body
    assert not (red and black), "a page mixes star colours"
    assert "Error fetching product reviews" not in body, "productpage could not reach reviews"
    return "red" if red else "black" if black else "none"


def login(port: int, user: str) -> str:
    """Log in through the gateway; the session cookie (``session=...``)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(
            "POST",
            "/login",
            body=urlencode({"username": user, "passwd": "x"}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        resp = conn.getresponse()
        resp.read()
        cookie = resp.getheader("Set-Cookie") or ""
        assert resp.status in (200, 302) and "session=" in cookie, (resp.status, cookie)
        return cookie.split(";", 1)[0]
    finally:
        conn.close()


def converge(port: int, want: str, cookie: str | None = None, timeout: float = 20.0) -> None:
    """Wait until pages show ``want`` stars (the new routes reached the proxies)."""
    deadline = time.monotonic() + timeout
    while stars(page(port, cookie)) != want:
        assert time.monotonic() < deadline, f"routing never produced {want} stars"
        time.sleep(0.1)


def apply_sample(mesh: LocalMeshThread, name: str) -> None:
    """Apply one of Istio's bookinfo networking files, unchanged."""
    mesh.apply((NETWORKING / name).read_text())
