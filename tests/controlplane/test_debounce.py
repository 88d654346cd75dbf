"""Debounce: quiet period and maximum delay, with time injected."""

from __future__ import annotations

import asyncio

from sailmesh.clock import ManualClock
from sailmesh.controlplane.debounce import Debouncer, DebounceState
from sailmesh.snapshot.push import PushRequest, ScopedChange


def change(name: str) -> PushRequest:
    return PushRequest(changes=(ScopedChange(("VirtualService", "default", name)),), reason=name)


def test_quiet_period_merges_a_burst() -> None:
    state = DebounceState(quiet=0.1, max_delay=1.0)
    state.add(0.00, change("a"))
    state.add(0.05, change("b"))
    assert state.take_if_due(0.12) is None, "quiet period restarts on each event"
    request = state.take_if_due(0.16)
    assert request is not None and [c.key[2] for c in request.changes] == ["a", "b"]
    assert state.deadline() is None


def test_max_delay_bounds_a_never_ending_burst() -> None:
    state = DebounceState(quiet=0.1, max_delay=0.5)
    t = 0.0
    while t < 0.5:
        state.add(t, change(f"c{t}"))
        assert t >= 0.5 or state.take_if_due(t) is None
        t += 0.05
    assert state.take_if_due(0.5) is not None


def test_debouncer_pushes_once_per_burst_with_manual_clock() -> None:
    async def scenario() -> list[PushRequest]:
        clock = ManualClock()
        pushed: list[PushRequest] = []

        async def push(request: PushRequest) -> None:
            pushed.append(request)

        debouncer = Debouncer(push, clock, quiet=0.1, max_delay=1.0)
        debouncer.start()
        debouncer.submit(change("a"))
        await asyncio.sleep(0)
        clock.advance(0.05)
        debouncer.submit(change("b"))
        for _ in range(5):
            await asyncio.sleep(0)
        clock.advance(0.06)
        for _ in range(5):
            await asyncio.sleep(0)
        assert pushed == [], "0.06 s after the last event is still inside the quiet period"
        clock.advance(0.05)
        for _ in range(10):
            await asyncio.sleep(0)
        await debouncer.stop()
        return pushed

    pushed = asyncio.run(scenario())
    assert len(pushed) == 1 and pushed[0].reason == "a, b"
