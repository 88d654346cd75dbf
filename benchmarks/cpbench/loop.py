"""An asyncio loop on a daemon thread, and calling a function on it from another thread."""

from __future__ import annotations

import asyncio
import threading
from typing import Any


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def on_loop(self, fn: Any, timeout: float = 120.0) -> Any:
        """``fn()`` run on the loop; its result."""

        async def call() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(timeout)
