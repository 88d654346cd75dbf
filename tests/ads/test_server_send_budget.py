"""The ADS server's bound on response bytes in flight over all streams."""

from __future__ import annotations

import asyncio

import pytest

from sailmesh.ads.server import SendBudget


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_sends_wait_in_order_until_bytes_are_released() -> None:
    async def scenario() -> None:
        budget = SendBudget(100)
        order: list[str] = []

        async def send(name: str, size: int) -> None:
            await budget.acquire(size)
            order.append(name)

        await budget.acquire(60)
        waiting = [asyncio.ensure_future(send(n, s)) for n, s in (("a", 50), ("b", 10))]
        await _settle()
        assert order == [] and budget.in_flight == 60  # b fits but waits behind a: in order
        budget.release(60)
        await _settle()
        assert order == ["a", "b"] and budget.in_flight == 60
        await asyncio.gather(*waiting)

    asyncio.run(scenario())


def test_a_response_larger_than_the_limit_goes_alone() -> None:
    async def scenario() -> None:
        budget = SendBudget(100)
        await budget.acquire(500)  # nothing in flight: admitted
        assert budget.in_flight == 500
        late = asyncio.ensure_future(budget.acquire(1))
        await _settle()
        assert not late.done()
        budget.release(500)
        await _settle()
        assert late.done() and budget.in_flight == 1

    asyncio.run(scenario())


def test_a_stream_going_away_while_waiting_lets_the_next_one_through() -> None:
    async def scenario() -> None:
        budget = SendBudget(100)
        await budget.acquire(90)
        first = asyncio.ensure_future(budget.acquire(50))
        second = asyncio.ensure_future(budget.acquire(5))
        await _settle()
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        await _settle()
        assert second.done() and budget.in_flight == 95

    asyncio.run(scenario())


def test_no_limit_counts_nothing() -> None:
    async def scenario() -> None:
        budget = SendBudget(0)
        await budget.acquire(10**9)
        budget.release(10**9)
        assert budget.in_flight == 0

    asyncio.run(scenario())
