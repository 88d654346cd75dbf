"""Bookinfo for end-to-end tests: page loads through the gateway, star colours, login, and a
call from inside productpage's pod with the access-log lines it leaves."""

from __future__ import annotations

import http.client
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

from e2e_support.localmesh import LocalMeshThread
from e2e_support.proxy import wait_for
from sailmesh.runtime.local import RunningPod

BOOKINFO = Path(__file__).resolve().parents[2] / "samples" / "bookinfo"
NETWORKING = BOOKINFO / "networking"
#: What ``sailctl demo`` starts: bookinfo, its gateway and the DestinationRules of its versions.
DEMO_PATHS = [
    str(BOOKINFO / "platform"),
    str(NETWORKING / "bookinfo-gateway.yaml"),
    str(NETWORKING / "destination-rule-all.yaml"),
]
#: Every call to reviews goes to v2 (which calls ratings on every request).
REVIEWS_V2 = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews, subset: v2}}]
"""
#: Every call to ratings aborted with 500 by the caller's sidecar (response flags FI).
RATINGS_ABORT = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings}
spec:
  hosts: [ratings]
  http:
  - fault: {abort: {httpStatus: 500, percentage: {value: 100}}}
    route: [{destination: {host: ratings, subset: v1}}]
"""


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


def pod(mesh: LocalMeshThread, ref: str) -> RunningPod:
    """The running pod ``ref`` (``deploy/<name>``)."""
    assert mesh.mesh.runtime is not None
    found = mesh.mesh.runtime.find_pod(ref)
    assert found is not None, ref
    return found


#: The pods serving ``reviews``.
REVIEWS_PODS = ("deploy/reviews-v1", "deploy/reviews-v2", "deploy/reviews-v3")


def call_reviews_from_productpage(mesh: LocalMeshThread) -> str:
    """``GET http://reviews:9080/reviews/0`` from inside productpage-v1's pod, with only
    ``PATH`` set by the caller (whatever the runtime mode gives the pod: capture rules or an
    ``http_proxy``); it must answer 200. The request's ``x-request-id``."""
    request_id = str(uuid.uuid4())
    code = (
        "import urllib.request; req = urllib.request.Request('http://reviews:9080/reviews/0', "
        f"headers={{'x-request-id': '{request_id}'}}); "
        "print(urllib.request.urlopen(req, timeout=5).status)"
    )
    client = pod(mesh, "deploy/productpage-v1")
    result = client.sandbox.run(["python3", "-c", code], env={"PATH": "/usr/bin:/bin"})
    assert result.stdout.strip() == "200", result.stderr
    return request_id


def access_log(mesh: LocalMeshThread, ref: str, request_id: str) -> list[str]:
    """The lines of pod ``ref``'s sidecar access log that carry ``request_id``."""
    text = pod(mesh, ref).supervisor.log_path("istio-proxy").read_text(errors="replace")
    return [line for line in text.splitlines() if request_id in line]


def reviews_inbound(mesh: LocalMeshThread, request_id: str) -> list[str]:
    """The inbound (``inbound|9080||``) lines of the reviews sidecars for ``request_id``."""
    lines = [line for ref in REVIEWS_PODS for line in access_log(mesh, ref, request_id)]
    return [line for line in lines if "inbound|9080||" in line]


def assert_seen_by_both_sidecars(mesh: LocalMeshThread, request_id: str) -> None:
    """Call ``request_id`` left productpage's sidecar once, to the reviews service's cluster
    (not again: Envoy's own upstream connection was not captured), and one reviews sidecar
    served it, reaching its app from 127.0.0.6 (the inbound passthrough)."""

    def outbound() -> list[str]:
        return access_log(mesh, "deploy/productpage-v1", request_id)

    wait_for(lambda: bool(outbound()), 10, "the client sidecar's access log")
    (line,) = outbound()
    assert "outbound|9080||reviews.default.svc.cluster.local" in line
    wait_for(lambda: bool(reviews_inbound(mesh, request_id)), 10, "a reviews inbound access log")
    served = [line for line in reviews_inbound(mesh, request_id) if '" 200 ' in line]
    assert len(served) == 1, reviews_inbound(mesh, request_id)
    assert "127.0.0.6" in served[0], "the inbound passthrough connects to the app from 127.0.0.6"
