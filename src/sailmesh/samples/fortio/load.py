"""``fortio load`` and ``fortio curl``: HTTP calls from keep-alive connections, fortio's report.

``load`` runs ``-c`` threads, each with one keep-alive connection (reopened when the server
closes it or a call fails), calling the URL back to back (``-qps 0``) or at ``qps / c`` per
thread, for exactly ``-n`` calls (spread over the threads like fortio: ``n // c`` each, the
remainder to the first ones) or for ``-t`` (default 5 s; ``0``: until interrupted). Failed
calls count as code ``-1``. The report goes to stdout in fortio's layout; per-call warnings
(non-2xx codes) go to stderr at ``-loglevel`` Warning and below.
"""

from __future__ import annotations

import http.client
import os
import signal
import sys
import threading
import time
from urllib.parse import urlsplit

from .. import goflags
from . import VERSION
from .report import Stats, print_report

VALUED = (
    "c",
    "qps",
    "n",
    "t",
    "H",
    "timeout",
    "loglevel",
    "p",
    "r",
    "payload",
    "content-type",
    "json",
    "labels",
    "X",
    "ca-cert",
    "cert",
    "key",
    "user-agent",
)
BOOLEANS = ("quiet", "a", "k", "keepalive", "stdclient", "h2", "jitter", "nocatchup", "uniform")
LEVELS = ("debug", "verbose", "info", "warning", "error", "critical", "fatal")


class Target:
    """Where calls go: host, port, request target and the headers every call carries."""

    def __init__(self, url: str, headers: list[str], user_agent: str) -> None:
        if "://" not in url:
            url = "http://" + url
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise goflags.FlagError(f"unsupported URL {url!r}: only http:// URLs")
        self.url = url
        self.host = parts.hostname
        self.port = parts.port or 80
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.headers = {"User-Agent": user_agent}
        for line in headers:
            name, _, value = line.partition(":")
            self.headers[name.strip()] = value.strip()


class Connection:
    """One keep-alive connection of a load thread; counts the sockets it opened."""

    def __init__(self, target: Target, timeout: float, payload: bytes) -> None:
        self.target, self.timeout, self.payload = target, timeout, payload
        self.conn: http.client.HTTPConnection | None = None
        self.sockets = 0
        self.peer = ""

    def call(self) -> tuple[int, int, int, str]:
        """``(code or -1, header bytes, body bytes, status line)`` of one call."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection(
                self.target.host, self.target.port, timeout=self.timeout
            )
            self.sockets += 1
        method = "POST" if self.payload else "GET"
        try:
            self.conn.request(method, self.target.path, self.payload or None, self.target.headers)
            if not self.peer and self.conn.sock is not None:
                ip, port = self.conn.sock.getpeername()[:2]
                self.peer = f"{ip}:{port}"
            response = self.conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return -1, 0, 0, repr(exc)
        header_size = sum(len(k) + len(v) + 4 for k, v in response.getheaders())
        line = f"HTTP/{response.version / 10:.1f} {response.status}"
        if response.will_close:
            self.close()
        return response.status, header_size, len(body), line

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None


def _thread_calls(total: int, threads: int) -> list[int]:
    each, extra = divmod(total, threads)
    return [each + (1 if i < extra else 0) for i in range(threads)]


def run(
    target: Target,
    threads: int,
    qps: float,
    calls: int,
    seconds: float,
    timeout: float,
    payload: bytes,
    warn: bool,
) -> tuple[Stats, float]:
    """Run the load; the statistics and the elapsed time."""
    stats = Stats()
    lock = threading.Lock()
    stop = threading.Event()
    budgets = _thread_calls(calls, threads) if calls else [0] * threads
    per_thread_qps = qps / threads if qps > 0 else 0.0
    started = time.monotonic()
    deadline = started + seconds if not calls and seconds > 0 else None

    def worker(budget: int) -> None:
        conn = Connection(target, timeout, payload)
        done = 0
        while not stop.is_set():
            if budget and done >= budget:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            if per_thread_qps:
                wait = started + done / per_thread_qps - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            begin = time.monotonic()
            code, header_size, body_size, line = conn.call()
            elapsed = time.monotonic() - begin
            done += 1
            if warn and not 200 <= code < 300:
                what = f"Parsed non ok code {code} ({line})" if code > 0 else f"Error {line}"
                print(f"{time.strftime('%H:%M:%S')} W http_client> {what}", file=sys.stderr)
            with lock:
                stats.add(code, elapsed, header_size, body_size)
        conn.close()
        with lock:
            stats.sockets += conn.sockets
            if conn.peer:
                stats.peers[conn.peer] = stats.peers.get(conn.peer, 0) + conn.sockets

    workers = [threading.Thread(target=worker, args=(b,), daemon=True) for b in budgets]
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        for w in workers:
            w.start()
        for w in workers:
            while w.is_alive():
                w.join(0.2)
    finally:
        signal.signal(signal.SIGINT, previous)
    return stats, time.monotonic() - started


def _describe(qps: float, threads: int, calls: int, seconds: float) -> tuple[str, str]:
    """fortio's two opening lines, without the URL."""
    rate = "max" if qps <= 0 else f"{qps:g}"
    cpus = os.cpu_count() or 1
    if calls:
        first = f"running at {qps:g} queries per second, {cpus}->{cpus} procs, for {calls} calls"
        per, extra = divmod(calls, threads)
        second = (
            f"Starting at {rate} qps with {threads} thread(s) [gomax {cpus}] "
            f"for exactly {calls} calls ({per} per thread + {extra})"
        )
    else:
        span = "until interrupted" if seconds <= 0 else f"{seconds:g}s"
        first = f"running at {qps:g} queries per second, {cpus}->{cpus} procs, for {span}"
        second = f"Starting at {rate} qps with {threads} thread(s) [gomax {cpus}] for {span}"
    return first, second


def load(flags: dict[str, list[str]], url: str) -> int:
    threads = max(1, int(goflags.last(flags, "c", "4")))
    qps = float(goflags.last(flags, "qps", "8"))
    calls = max(0, int(goflags.last(flags, "n", "0")))
    seconds = goflags.duration(goflags.last(flags, "t", "5s"))
    timeout = goflags.duration(goflags.last(flags, "timeout", "3s")) or 3.0
    level = goflags.last(flags, "loglevel", "info").lower()
    warn = level in LEVELS[:4] and not goflags.truthy(flags, "quiet")
    payload = goflags.last(flags, "payload", "").encode()
    percentiles = [float(p) for p in goflags.last(flags, "p", "50,75,90,99,99.9").split(",")]
    agent = goflags.last(flags, "user-agent", f"fortio.org/fortio-{VERSION}")
    target = Target(url, flags.get("H", []), agent)
    first, second = _describe(qps, threads, calls, seconds)
    print(f"Fortio {VERSION} {first}: {target.url}")
    print(second, flush=True)
    stats, elapsed = run(target, threads, qps, calls, seconds, timeout, payload, warn)
    print_report(stats, elapsed, threads, percentiles)
    return 0


def curl(flags: dict[str, list[str]], url: str) -> int:
    """One call; the status line, headers and body as received. Exit 1 unless 2xx."""
    agent = goflags.last(flags, "user-agent", f"fortio.org/fortio-{VERSION}")
    target = Target(url, flags.get("H", []), agent)
    timeout = goflags.duration(goflags.last(flags, "timeout", "3s")) or 3.0
    conn = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    payload = goflags.last(flags, "payload", "").encode()
    try:
        conn.request("POST" if payload else "GET", target.path, payload or None, target.headers)
        response = conn.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException) as exc:
        print(f"fortio curl: {url}: {exc!r}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    out = sys.stdout
    out.write(f"HTTP/{response.version / 10:.1f} {response.status} {response.reason}\r\n")
    for name, value in response.getheaders():
        out.write(f"{name}: {value}\r\n")
    out.write("\r\n")
    out.flush()
    sys.stdout.buffer.write(body)
    sys.stdout.buffer.flush()
    return 0 if 200 <= response.status < 300 else 1


def main(verb: str, args: list[str]) -> int:
    flags, rest = goflags.parse(args, VALUED, BOOLEANS)
    if len(rest) != 1:
        raise goflags.FlagError(f"{verb} needs exactly one URL (got {rest or 'none'})")
    return load(flags, rest[0]) if verb == "load" else curl(flags, rest[0])
