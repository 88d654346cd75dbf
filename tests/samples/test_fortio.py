"""The fortio stand-in: ``server`` (HTTP echo with ?status/?delay/?header/?size, /debug, TCP
echo), ``load`` (bounded, fortio's report) and ``curl``, started with fortio's flags."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator

import pytest
from sample_procs import Procs, free_port, procs_in, request

from sailmesh.samples.fortio.report import histogram, percentile


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Procs, int, int]]:
    for procs in procs_in(tmp_path_factory.mktemp("fortio")):
        http, tcp, grpc = free_port(), free_port(), free_port()
        flags = ["-http-port", str(http), "-tcp-port", str(tcp), "-grpc-port", str(grpc)]
        started = procs.start("fortio", "server", "-config-dir", "/etc/fortio", *flags)
        for port in (http, tcp, grpc):
            started.wait_port(port)
        yield procs, http, tcp


def test_echo_server_behaviours(server: tuple[Procs, int, int]) -> None:
    _, http, _ = server
    status, headers, body = request(http, "/echo?status=503&header=X-A:1", "POST", b"hi")
    assert (status, body, headers["X-A"]) == (503, b"hi", "1")
    assert {request(http, "/?status=429:100")[0] for _ in range(5)} == {429}
    assert len(request(http, "/echo?size=1000")[2]) == 1000
    started = time.monotonic()
    assert request(http, "/echo?delay=300ms")[0] == 200
    assert time.monotonic() - started >= 0.3
    status, _, debug = request(http, "/debug?x=1", headers={"X-Trace": "t"})
    assert status == 200 and b"GET /debug?x=1 HTTP/1.1" in debug and b"X-Trace: t" in debug


def test_tcp_echo_port(server: tuple[Procs, int, int]) -> None:
    _, _, tcp = server
    with socket.create_connection(("127.0.0.1", tcp), timeout=5) as conn:
        conn.sendall(b"ping\n")
        assert conn.recv(100) == b"ping\n"


def test_load_reports_codes_and_percentiles(server: tuple[Procs, int, int]) -> None:
    procs, http, _ = server
    url = f"http://127.0.0.1:{http}/echo?status=503:30"
    done = procs.run(
        "fortio", "load", "-c", "3", "-qps", "0", "-n", "30", "-loglevel", "Warning", url
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "running at 0 queries per second" in out and url in out
    assert "for exactly 30 calls (10 per thread + 0)" in out
    codes = {int(c): int(n) for c, n in re.findall(r"^Code (-?\d+) : (\d+) \(", out, re.M)}
    assert sum(codes.values()) == 30 and set(codes) <= {200, 503}
    for code, count in codes.items():
        assert f"Code {code} : {count} ({100 * count / 30:.1f} %)" in out
    assert re.search(r"^# target 50% [\d.e-]+$", out, re.M)
    assert re.search(r"^# target 99\.9% [\d.e-]+$", out, re.M)
    assert "All done 30 calls (plus 0 warmup)" in out
    assert "Sockets used: 3 (for perfect keepalive, would be 3)" in out
    if 503 in codes:
        assert "Parsed non ok code 503" in done.stderr


def test_load_at_a_rate_for_a_duration(server: tuple[Procs, int, int]) -> None:
    procs, http, _ = server
    started = time.monotonic()
    done = procs.run("fortio", "load", "-qps", "20", "-c", "2", "-t", "1s", f"127.0.0.1:{http}/")
    elapsed = time.monotonic() - started
    calls = int(re.search(r"All done (\d+) calls", done.stdout).group(1))  # type: ignore[union-attr]
    assert 15 <= calls <= 22 and elapsed < 5, done.stdout
    assert "Code 200 : " in done.stdout


def test_curl_prints_the_response(server: tuple[Procs, int, int]) -> None:
    procs, http, _ = server
    done = procs.run("fortio", "curl", "-H", "X-Who: me", f"http://127.0.0.1:{http}/debug")
    assert done.returncode == 0 and done.stdout.startswith("HTTP/1.1 200 OK")
    assert "X-Who: me" in done.stdout
    failed = procs.run("fortio", "curl", f"http://127.0.0.1:{http}/?status=503")
    assert failed.returncode == 1 and failed.stdout.startswith("HTTP/1.1 503")
    assert procs.run("fortio", "load", "-bogus", "x").returncode == 1


def test_histogram_and_percentiles() -> None:
    values = [0.0005, 0.0015, 0.0015, 0.0035, 0.012]
    rows = histogram(values)
    assert rows == [(0.0005, 0.001, 1), (0.001, 0.002, 2), (0.003, 0.004, 1), (0.011, 0.012, 1)]
    assert percentile(rows, 5, 50) == pytest.approx(0.00175)  # 2.5 calls: 3/4 into (1, 2] ms
    assert percentile(rows, 5, 100) == pytest.approx(0.012)


def test_default_params_make_a_failing_server(tmp_path_factory: pytest.TempPathFactory) -> None:
    for procs in procs_in(tmp_path_factory.mktemp("fortio-bad")):
        port = free_port()
        flags = ["-http-port", str(port), "-grpc-port", "disabled", "-tcp-port", "disabled"]
        bad = procs.start("fortio", "server", *flags, "-echo-server-default-params", "status=503")
        bad.wait_port(port)
        assert request(port, "/echo")[0] == 503
        assert request(port, "/echo?status=200")[0] == 200  # explicit parameters win
