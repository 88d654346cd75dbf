"""Injected time: the one :class:`Clock` everything that waits, debounces, times out, rotates
or restarts takes, the real :class:`SystemClock` and the :class:`ManualClock` of tests.

A clock answers monotonic time (``monotonic``), wall time (``wall``: seconds since the epoch,
for timestamps people read), and sleeps both ways: ``sleep`` blocks a thread, ``asleep`` awaits
on an event loop.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds from an arbitrary, never-decreasing origin."""
        ...

    def wall(self) -> float:
        """Seconds since the epoch."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds``."""
        ...

    async def asleep(self, seconds: float) -> None:
        """Wait ``seconds`` on the running event loop."""
        ...


class SystemClock:
    """The real clock: :func:`time.monotonic`, :func:`time.time`, real sleeps."""

    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))

    async def asleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


class ManualClock:
    """A clock tests move by hand.

    ``advance`` moves both readings; ``asleep`` returns once ``advance`` passes its deadline;
    ``sleep`` (blocking, so no test thread could advance the clock meanwhile) moves the clock
    itself and yields the processor for a moment, so loops that poll and sleep make progress.
    """

    def __init__(self, start: float = 1000.0, wall_start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall_start - start
        self._waiters: list[tuple[float, asyncio.Future[None]]] = []

    def monotonic(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._now + self._wall_offset

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        time.sleep(min(max(0.0, seconds), 0.005))

    async def asleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((self._now + seconds, future))
        await future

    def advance(self, seconds: float) -> None:
        """Move time on by ``seconds`` and wake the ``asleep`` calls now due."""
        self._now += seconds
        due = [w for w in self._waiters if w[0] <= self._now]
        self._waiters = [w for w in self._waiters if w[0] > self._now]
        for _, future in due:
            if not future.done():
                future.set_result(None)
