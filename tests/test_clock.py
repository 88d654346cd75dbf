"""The one clock: real time for the system clock; hand-moved time for tests."""

from __future__ import annotations

import asyncio
import time

from sailmesh.clock import SYSTEM_CLOCK, ManualClock, SystemClock


def test_system_clock_is_wall_and_monotonic_time() -> None:
    before = time.time()
    now = SystemClock().wall()
    assert before <= now <= time.time()
    first = SYSTEM_CLOCK.monotonic()
    SYSTEM_CLOCK.sleep(0.01)
    assert SYSTEM_CLOCK.monotonic() >= first + 0.01


def test_manual_clock_moves_both_readings_only_when_told() -> None:
    clock = ManualClock(start=10.0, wall_start=1_000.0)
    assert (clock.monotonic(), clock.wall()) == (10.0, 1_000.0)
    clock.advance(2.5)
    assert (clock.monotonic(), clock.wall()) == (12.5, 1_002.5)
    clock.sleep(1.0)  # a blocking sleep moves the clock itself
    assert clock.monotonic() == 13.5


def test_manual_clock_wakes_async_sleepers_when_their_deadline_passes() -> None:
    async def scenario() -> list[str]:
        clock = ManualClock()
        woke: list[str] = []

        async def sleeper(name: str, seconds: float) -> None:
            await clock.asleep(seconds)
            woke.append(name)

        tasks = [asyncio.create_task(sleeper("short", 1)), asyncio.create_task(sleeper("long", 5))]
        await asyncio.sleep(0)
        clock.advance(2)
        await asyncio.sleep(0)
        assert woke == ["short"]
        clock.advance(3)
        await asyncio.gather(*tasks)
        return woke

    assert asyncio.run(scenario()) == ["short", "long"]
