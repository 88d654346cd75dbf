"""A bounded HTTP load on 127.0.0.1: a few worker threads, each sending GETs one after another
(a fresh connection and a timeout per request) until stopped, or a request or time budget is
spent. Every request's outcome is kept, with what the test's ``judge`` says about its body."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: ``judge(status, body) -> error`` (empty when the response is a success).
Judge = Callable[[int, str], str]


def ok_200(status: int, body: str) -> str:
    return "" if status == 200 else f"status {status}: {body[:200]}"


@dataclass(frozen=True)
class Outcome:
    at: float  # time.monotonic() when the request was sent
    seconds: float
    status: int  # 0: no response (connection error, timeout)
    error: str  # empty for a success
    body: str


@dataclass
class Load:
    """``workers`` loops of GET ``path`` on 127.0.0.1:``port``; see the module docstring."""

    port: int
    path: str
    workers: int = 3
    timeout: float = 5.0
    max_requests: int = 20_000
    max_seconds: float = 120.0
    judge: Judge = ok_200
    keep_body: Callable[[str], str] = lambda body: ""
    outcomes: list[Outcome] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, name=f"load-{i}", daemon=True)
            for i in range(self.workers)
        ]
        self._deadline = 0.0

    def start(self) -> Load:
        self._deadline = time.monotonic() + self.max_seconds
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)
        assert not any(t.is_alive() for t in self._threads), "a load worker did not stop"

    def __enter__(self) -> Load:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            with self._lock:
                if len(self.outcomes) >= self.max_requests:
                    return
            outcome = self._one()
            with self._lock:
                self.outcomes.append(outcome)

    def _one(self) -> Outcome:
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            conn.request("GET", self.path)
            response = conn.getresponse()
            status, body = response.status, response.read().decode(errors="replace")
            error = self.judge(status, body)
        except OSError as exc:
            status, body, error = 0, "", repr(exc)
        finally:
            conn.close()
        return Outcome(started, time.monotonic() - started, status, error, self.keep_body(body))

    # --- results -------------------------------------------------------------------------
    def snapshot(self) -> list[Outcome]:
        with self._lock:
            return list(self.outcomes)

    def failures(self) -> list[Outcome]:
        return [o for o in self.snapshot() if o.error]

    def since(self, at: float) -> list[Outcome]:
        return [o for o in self.snapshot() if o.at >= at]
