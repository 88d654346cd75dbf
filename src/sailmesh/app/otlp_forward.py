"""Forwarding the spans the collector received to an OTLP/HTTP endpoint the user names.

In: the raw OTLP/HTTP protobuf bodies the pods' Envoys posted (already kept by the control
plane's trace store) and the endpoint's URL (``http://host:4318/v1/traces``). Out: the same
bodies posted there, in order, one at a time, from a task of the event loop (the posting
itself runs in a worker thread). Best effort: at most :data:`FORWARD_QUEUE` bodies wait; beyond
that the oldest is dropped and counted, and a failing endpoint costs one line on stderr per
:data:`REPORT_EVERY` failures, never the collector.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import urllib.request
from collections import deque

FORWARD_QUEUE = 256
REPORT_EVERY = 100
TIMEOUT = 5.0


class OtlpForwarder:
    def __init__(self, url: str) -> None:
        self.url = url
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._queue: deque[bytes] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def submit(self, body: bytes) -> None:
        """Queue ``body`` (called on the event loop)."""
        if len(self._queue) >= FORWARD_QUEUE:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(body)
        self._wake.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                body = self._queue.popleft()
                try:
                    await asyncio.to_thread(self._post, body)
                    self.sent += 1
                except OSError as e:
                    self.failed += 1
                    if self.failed % REPORT_EVERY == 1:
                        print(f"sailmesh: forwarding spans to {self.url} failed: {e}",
                              file=sys.stderr)  # fmt: skip

    def _post(self, body: bytes) -> None:
        request = urllib.request.Request(
            self.url, data=body, method="POST",
            headers={"Content-Type": "application/x-protobuf"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            answer.read()
