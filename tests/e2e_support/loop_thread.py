"""An asyncio event loop on its own thread, driven from synchronous tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """``call()`` a coroutine or ``on_loop()`` a function on the loop; ``close()`` calls
    ``stop()`` (what the subclass serves) and then ends the loop and its thread."""

    def __init__(self, name: str, timeout: float) -> None:
        self.timeout = timeout
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name)
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(self.timeout if timeout is None else timeout)

    def on_loop(self, fn: Any) -> Any:
        """Run ``fn()`` on the loop and return its result."""

        async def run() -> Any:
            return fn()

        return self.call(run())

    def stop(self) -> None:
        """Stop what runs on the loop (the loop itself keeps running)."""

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()
