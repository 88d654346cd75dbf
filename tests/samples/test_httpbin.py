"""The httpbin stand-in: both flavours, started with their images' arguments, answer the
endpoints Istio's tasks use as the images do."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator

import pytest
from sample_procs import free_port, get_json, procs_in, request


@pytest.fixture(scope="module")
def ports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    for procs in procs_in(tmp_path_factory.mktemp("httpbin")):
        go, python = free_port(), free_port()
        procs.start("httpbin", "go", "-port", str(go), "-max-duration", "600s").wait_port(go)
        started = procs.start(
            "httpbin", "python", "-b", f"127.0.0.1:{python}", "httpbin:app", "-k", "gevent"
        )
        started.wait_port(python)
        yield {"go": go, "python": python}


def test_get_and_headers_in_each_flavour(ports: dict[str, int]) -> None:
    headers = {"X-B3-Sampled": "1", "Host": "httpbin:8000"}
    status, go = get_json(ports["go"], "/get?a=1&a=2&b=", headers=headers)
    assert status == 200
    assert go["args"] == {"a": ["1", "2"], "b": [""]}
    assert go["headers"]["X-B3-Sampled"] == ["1"] and go["headers"]["Host"] == ["httpbin:8000"]
    assert go["url"] == "http://httpbin:8000/get?a=1&a=2&b=" and go["method"] == "GET"
    status, py = get_json(ports["python"], "/get?a=1&a=2", headers=headers)
    assert status == 200 and py["args"] == {"a": ["1", "2"]}
    assert py["headers"]["X-B3-Sampled"] == "1"
    _, only = get_json(ports["python"], "/headers", headers={"x-envoy-attempt-count": "2"})
    assert only == {"headers": {**only["headers"], "X-Envoy-Attempt-Count": "2"}}


def test_a_repeated_header_keeps_each_value_in_the_go_flavour(ports: dict[str, int]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", ports["go"], timeout=5)
    conn.putrequest("GET", "/headers")
    for value in ("1", "2"):
        conn.putheader("X-Added", value)
    conn.endheaders()
    echoed = json.loads(conn.getresponse().read())
    conn.close()
    assert echoed["headers"]["X-Added"] == ["1", "2"]


def test_status_codes_fixed_and_weighted(ports: dict[str, int]) -> None:
    for port in ports.values():
        assert request(port, "/status/503")[0] == 503
        assert request(port, "/status/418", method="POST")[0] == 418
        assert {request(port, "/status/201:1,503:0")[0] for _ in range(10)} == {201}
        both = {request(port, "/status/200,503")[0] for _ in range(60)}
        assert both == {200, 503}  # a uniform pick: one of them missing is 2**-59 likely
        assert request(port, "/status/abc")[0] == 400


def test_delay_sleeps_then_answers_like_get(ports: dict[str, int]) -> None:
    started = time.monotonic()
    status, body = get_json(ports["go"], "/delay/0.3")
    assert status == 200 and body["url"].endswith("/delay/0.3")
    assert 0.3 <= time.monotonic() - started < 2.0


def test_ip_anything_and_response_headers(ports: dict[str, int]) -> None:
    forwarded = {"X-Forwarded-For": "10.1.2.3, 10.4.5.6"}
    assert get_json(ports["go"], "/ip", headers=forwarded)[1] == {"origin": "10.1.2.3"}
    assert get_json(ports["python"], "/ip", headers=forwarded)[1]["origin"] == "10.1.2.3, 10.4.5.6"
    assert get_json(ports["go"], "/ip")[1] == {"origin": "127.0.0.1"}
    payload = json.dumps({"k": "v"}).encode()
    kind = {"Content-Type": "application/json"}
    status, body = get_json(
        ports["go"], "/anything/x?q=1", method="PUT", body=payload, headers=kind
    )
    assert status == 200 and body["method"] == "PUT" and body["json"] == {"k": "v"}
    assert body["data"] == '{"k": "v"}' and body["args"] == {"q": ["1"]}
    status, headers, raw = request(ports["go"], "/response-headers?X-Custom=a&X-Custom=b")
    assert status == 200 and headers["X-Custom"] == "b"  # the last of the repeated header
    assert json.loads(raw)["X-Custom"] == ["a", "b"]
    assert request(ports["go"], "/no/such/path")[0] == 404


def test_access_log_names_the_host(tmp_path_factory: pytest.TempPathFactory) -> None:
    for procs in procs_in(tmp_path_factory.mktemp("httpbin-log")):
        port = free_port()
        proc = procs.start("httpbin", "go", env={"PORT": str(port)})  # go-httpbin reads $PORT
        proc.wait_port(port)
        request(port, "/headers", headers={"Host": "httpbin-shadow:8000"})
        procs.stop_all()
        assert '"GET /headers HTTP/1.1" 200' in proc.log()
        assert "host=httpbin-shadow:8000" in proc.log()


def test_bad_flags_exit_like_go_httpbin(tmp_path_factory: pytest.TempPathFactory) -> None:
    for procs in procs_in(tmp_path_factory.mktemp("httpbin-flags")):
        done = procs.run("httpbin", "go", "-no-such-flag")
        assert (
            done.returncode == 2 and "flag provided but not defined: -no-such-flag" in done.stderr
        )


def test_port_variable_wins_over_gunicorns_bind(tmp_path_factory: pytest.TempPathFactory) -> None:
    # the local runtime's explicit mode gives each pod a host port in $PORT
    for procs in procs_in(tmp_path_factory.mktemp("httpbin-port")):
        port = free_port()
        bind = ["-b", "0.0.0.0:80", "httpbin:app"]
        procs.start("httpbin", "python", *bind, env={"PORT": str(port)}).wait_port(port)
        assert request(port, "/status/204")[0] == 204
