"""Debouncing bursts of changes into one push (Istio's PILOT_DEBOUNCE_AFTER / _MAX).

:class:`DebounceState` is the pure logic: events merge into one pending request, which is due
once no event arrived for ``quiet`` seconds or ``max_delay`` passed since the first one.
:class:`Debouncer` drives it with an injected clock and hands due requests to a callback.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sailmesh.clock import Clock
from sailmesh.snapshot.push import PushRequest


@dataclass
class DebounceState:
    quiet: float = 0.1
    max_delay: float = 10.0
    pending: PushRequest | None = None
    first_at: float = 0.0
    last_at: float = 0.0

    def add(self, now: float, request: PushRequest) -> None:
        if self.pending is None:
            self.pending, self.first_at = request, now
        else:
            self.pending = self.pending.merge(request)
        self.last_at = now

    def deadline(self) -> float | None:
        if self.pending is None:
            return None
        return min(self.last_at + self.quiet, self.first_at + self.max_delay)

    def take_if_due(self, now: float) -> PushRequest | None:
        deadline = self.deadline()
        if deadline is None or now < deadline:
            return None
        request, self.pending = self.pending, None
        return request


class Debouncer:
    """Feeds :class:`DebounceState` from ``submit`` and calls ``push`` for each due request."""

    def __init__(
        self,
        push: Callable[[PushRequest], Awaitable[None]],
        clock: Clock,
        quiet: float = 0.1,
        max_delay: float = 10.0,
    ) -> None:
        self._push = push
        self._clock = clock
        self._state = DebounceState(quiet, max_delay)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pushing = False
        #: While a push runs: when (the clock's monotonic seconds) its first change came.
        self.pushing_since = 0.0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="debouncer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @property
    def idle(self) -> bool:
        """No change is waiting to be pushed."""
        return self._state.pending is None and not self._pushing

    def submit(self, request: PushRequest) -> None:
        self._state.add(self._clock.monotonic(), request)
        self._wake.set()

    async def _run(self) -> None:
        while True:
            deadline = self._state.deadline()
            if deadline is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            wait = deadline - self._clock.monotonic()
            if wait > 0:
                self._wake.clear()
                sleeper = asyncio.ensure_future(self._clock.asleep(wait))
                waker = asyncio.ensure_future(self._wake.wait())
                _, pending = await asyncio.wait(
                    {sleeper, waker}, return_when=asyncio.FIRST_COMPLETED
                )
                for task in pending:
                    task.cancel()
                continue
            first_at = self._state.first_at
            request = self._state.take_if_due(self._clock.monotonic())
            if request is not None:
                self._pushing = True
                self.pushing_since = first_at
                try:
                    await self._push(request)
                finally:
                    self._pushing = False
