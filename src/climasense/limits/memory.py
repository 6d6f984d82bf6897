"""Exact sliding-window log kept in this process (the default without Redis, and the
fallback while Redis is unreachable)."""

from __future__ import annotations

import time
from array import array
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable

from climasense.limits.base import MICROS, Decision, decide
from climasense.settings import RateLimit


class MemoryRateLimiter:
    """One array of accepted-request times (int64 µs, ascending) per key, at most `limit` long
    (an array, not a deque of ints: 8 bytes an entry instead of ~40, and no 600-byte block).

    Keys are grouped by window length, each group an OrderedDict in the order of their latest
    accepted request: with one window length that is also the order in which keys go idle, so
    idle keys are evicted from the front in amortised O(1) per decision, and memory stays
    proportional to the keys active within a window (hard-capped by `max_keys` per group).
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, *, max_keys: int = 1_000_000
    ) -> None:
        self._groups: dict[int, OrderedDict[str, array[int]]] = {}
        self._clock = clock
        self._max_keys = max_keys

    @property
    def tracked_keys(self) -> int:
        return sum(len(group) for group in self._groups.values())

    async def hit(self, key: str, rule: RateLimit) -> Decision:
        return self.hit_sync(key, rule)

    def hit_sync(self, key: str, rule: RateLimit) -> Decision:
        now = int(self._clock() * MICROS)
        window = rule.window_seconds * MICROS
        horizon = now - window
        group = self._groups.get(window)
        if group is None:
            group = self._groups[window] = OrderedDict()
        self._evict_idle(group, horizon)
        entries = group.get(key)
        if entries is None:
            entries = array("q")
        elif entries and entries[0] <= horizon:
            del entries[: bisect_right(entries, horizon)]
        if len(entries) >= rule.limit:
            # Accepted again once the limit-th newest entry has left the window.
            return decide(False, rule, len(entries), entries[-rule.limit] - horizon)
        entries.append(now)
        group[key] = entries
        group.move_to_end(key)
        if len(group) > self._max_keys:
            group.popitem(last=False)
        return decide(True, rule, len(entries), entries[0] - horizon)

    async def refund(self, key: str, rule: RateLimit) -> None:
        group = self._groups.get(rule.window_seconds * MICROS)
        entries = group.get(key) if group is not None else None
        if entries:
            entries.pop()

    async def close(self) -> None:
        self._groups.clear()

    @staticmethod
    def _evict_idle(group: OrderedDict[str, array[int]], horizon: int) -> None:
        while group:
            entries = next(iter(group.values()))
            if entries and entries[-1] > horizon:
                return
            group.popitem(last=False)
