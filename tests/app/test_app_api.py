"""The control-plane API over its Unix socket: routes, errors as statuses, owner-only socket."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path
from typing import Any

from sailmesh.app.api import ApiClient, ApiServer
from sailmesh.errors import ApiError


class Backend:
    def __init__(self) -> None:
        self.applied: list[tuple[str, str, str]] = []

    def version(self) -> dict[str, Any]:
        return {"version": "test", "revision": 3}

    def apply_yaml(self, text: str, file: str, namespace: str) -> dict[str, Any]:
        if "bad" in text:
            raise ApiError(422, {"error": "invalid", "problems": ["p"]})
        self.applied.append((text, file, namespace))
        return {"outcomes": ["ok"], "warnings": []}

    def delete_yaml(
        self, text: str, file: str, namespace: str, ignore_not_found: bool
    ) -> dict[str, Any]:
        return {"outcomes": [f"ignore={ignore_not_found}"]}

    def get_config(
        self, kind: str | None, namespace: str | None, name: str | None
    ) -> dict[str, Any]:
        return {"items": [[kind, namespace, name]]}

    def proxies(self) -> dict[str, Any]:
        raise RuntimeError("boom")

    def runtime_call(self, what: str, query: dict[str, str]) -> dict[str, Any]:
        return {"what": what, "query": query}

    def ca_status(self) -> dict[str, Any]:
        return {"trustDomain": "cluster.local"}

    def traces(self, query: dict[str, str]) -> dict[str, Any]:
        return {"traces": [], "query": query}

    def rotate_root(self, overlap: float | None, cacerts: str) -> dict[str, Any]:
        return {"overlap": overlap, "cacerts": cacerts}

    def shutdown(self) -> dict[str, Any]:
        return {"status": "shutting down"}


def test_routes_statuses_and_socket_mode(tmp_path: Path) -> None:
    path = tmp_path / "run" / "api.sock"
    backend = Backend()
    server = ApiServer(backend, path)
    server.start()
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        client = ApiClient(path, timeout=5)
        assert client.request("GET", "/v1/version") == (200, {"version": "test", "revision": 3})
        body = {"yaml": "a: b", "file": "f.yaml", "namespace": "ns"}
        assert client.request("POST", "/v1/apply", body)[0] == 200
        assert backend.applied == [("a: b", "f.yaml", "ns")]
        assert client.request("POST", "/v1/apply", {"yaml": "bad"}) == (
            422,
            {"error": "invalid", "problems": ["p"]},
        )
        status, got = client.request("GET", "/v1/config?kind=Gateway&name=gw")
        assert (status, got["items"]) == (200, [["Gateway", None, "gw"]])
        assert client.request("GET", "/v1/traces?service=reviews")[1] == {
            "traces": [],
            "query": {"service": "reviews"},
        }
        assert client.request("GET", "/v1/runtime/pod?pod=deploy/x")[1] == {
            "what": "pod",
            "query": {"pod": "deploy/x"},
        }
        status, got = client.request("GET", "/v1/proxies")
        assert status == 500 and "RuntimeError: boom" in got["error"]
        assert client.request("GET", "/v1/nothing")[0] == 404
    finally:
        server.stop()
    assert not path.exists()


def test_a_body_that_is_not_an_object_is_a_bad_request(tmp_path: Path) -> None:
    path = tmp_path / "api.sock"
    server = ApiServer(Backend(), path)
    server.start()
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(path))
            payload = b"[1, 2]"
            sock.sendall(
                b"POST /v1/apply HTTP/1.1\r\nHost: x\r\nContent-Length: "
                + str(len(payload)).encode()
                + b"\r\nConnection: close\r\n\r\n"
                + payload
            )
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 400")
        assert b"request body must be a JSON object" in answer
    finally:
        server.stop()


def test_a_server_dying_mid_answer_is_a_connection_error(tmp_path: Path) -> None:
    import threading

    import pytest

    path = tmp_path / "dying.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(1)

    def answer_half() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{")
        conn.close()

    server = threading.Thread(target=answer_half)
    server.start()
    try:
        with pytest.raises(ConnectionError, match="before answering in full"):
            ApiClient(path, timeout=5).request("GET", "/v1/version")
    finally:
        server.join(5)
        listener.close()


def test_ca_routes(tmp_path: Path) -> None:
    path = tmp_path / "api.sock"
    server = ApiServer(Backend(), path)
    server.start()
    try:
        client = ApiClient(path, timeout=5)
        assert client.request("GET", "/v1/ca") == (200, {"trustDomain": "cluster.local"})
        rotate = client.request("POST", "/v1/ca/rotate-root", {"overlap": 90, "cacerts": "/d"})
        assert rotate == (200, {"overlap": 90.0, "cacerts": "/d"})
        assert client.request("POST", "/v1/ca/rotate-root", {}) == (
            200,
            {"overlap": None, "cacerts": ""},
        )
        status, body = client.request("POST", "/v1/ca/rotate-root", {"overlap": "1h"})
        assert status == 400 and "overlap" in body["error"]
        status, body = client.request("POST", "/v1/ca/rotate-root", {"overlap": True})
        assert status == 400
    finally:
        server.stop()
