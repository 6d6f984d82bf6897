"""Exact sliding-window log kept in this process (the default without Redis)."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from climasense.limits.base import Decision
from climasense.settings import RateLimit


class MemoryRateLimiter:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._log: dict[str, deque[float]] = {}
        self._clock = clock

    async def hit(self, key: str, rule: RateLimit) -> Decision:
        now = self._clock()
        window = rule.window_seconds
        entries = self._log.get(key)
        if entries is None:
            entries = self._log[key] = deque()
        while entries and entries[0] <= now - window:
            entries.popleft()
        if len(entries) < rule.limit:
            entries.append(now)
            reset = math.ceil(entries[0] + window - now)
            return Decision(True, rule.limit, window, rule.limit - len(entries), reset, 0)
        # The oldest request in the window leaves it at entries[0] + window; a retry strictly
        # after that instant is accepted, so round up.
        retry = max(1, math.ceil(entries[0] + window - now))
        reset = math.ceil(entries[-1] + window - now)
        return Decision(False, rule.limit, window, 0, reset, retry)

    async def close(self) -> None:
        self._log.clear()
