"""Process behaviour shared by every bookinfo service: logging, ports, graceful SIGTERM."""

from __future__ import annotations

import http.client
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from bookinfo_harness import Launcher, Reply, capture, get, get_json, launching, upstream_env


@pytest.fixture
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    yield from launching(tmp_path_factory, "bookinfo-lifecycle")


def test_sigterm_exits_zero_and_logs_each_request(launcher: Launcher) -> None:
    (details,) = launcher.start(("details", None, None))
    assert get_json(details.port, "/details/1")[0] == 200
    assert get(details.port, "/missing")[0] == 404
    os.kill(details.pid, signal.SIGTERM)
    assert details.proc.wait(timeout=5) == 0
    lines = details.log().splitlines()
    assert any('"GET /details/1 HTTP/1.1" 200' in line for line in lines)
    assert any('"GET /missing HTTP/1.1" 404' in line for line in lines)
    assert lines[-1] == "details-v1 stopped"


def test_port_and_version_from_env(launcher: Launcher) -> None:
    ratings = launcher.spawn("ratings", port_flag=False)
    reviews = launcher.spawn(
        "reviews",
        env=upstream_env(ratings=ratings.port) | {"SERVICE_VERSION": "v3"},
        port_flag=False,
    )
    ratings.wait_ready()
    reviews.wait_ready()
    status, body = get_json(reviews.port, "/reviews/0")
    assert status == 200 and body["reviews"][0]["rating"] == {"stars": 5, "color": "red"}


def test_repeated_sigterm_still_exits_zero(launcher: Launcher) -> None:
    (ratings,) = launcher.start(("ratings", None, None))
    for _ in range(5):
        os.kill(ratings.pid, signal.SIGTERM)
    assert ratings.proc.wait(timeout=5) == 0


def test_idle_keep_alive_connection_does_not_block_shutdown(launcher: Launcher) -> None:
    (ratings,) = launcher.start(("ratings", None, None))
    conn = http.client.HTTPConnection("127.0.0.1", ratings.port, timeout=5)
    conn.request("GET", "/health")
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("Connection") != "close"
    response.read()
    started = time.monotonic()
    os.kill(ratings.pid, signal.SIGTERM)
    assert ratings.proc.wait(timeout=5) == 0
    assert time.monotonic() - started < 2
    conn.close()


def test_sigterm_finishes_in_flight_request(launcher: Launcher) -> None:
    slow_ratings = {"id": 0, "ratings": {"Reviewer1": 2, "Reviewer2": 3}}
    with capture(Reply(200, slow_ratings, delay=0.6)) as ratings:
        (reviews,) = launcher.start(("reviews", "v2", upstream_env(ratings=ratings.port)))
        result: list[tuple[int, Any]] = []
        client = threading.Thread(
            target=lambda: result.append(get_json(reviews.port, "/reviews/0"))
        )
        client.start()
        deadline = time.monotonic() + 5
        while not ratings.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ratings.requests, "the request never reached ratings"
        os.kill(reviews.pid, signal.SIGTERM)
        client.join(timeout=5)
        assert reviews.proc.wait(timeout=5) == 0
    ((status, body),) = result
    assert status == 200
    assert [r["rating"]["stars"] for r in body["reviews"]] == [2, 3]
