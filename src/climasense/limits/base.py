"""The rate-limiter interface every storage implements, and the arithmetic they share.

Semantics (CONTRACT §3), identical for every implementation and checked by one conformance
test: a request at time `t` counts against the entries logged in `(t - window, t]`; it is
accepted, and logged, only if fewer than `limit` are there. A refused request is not logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from climasense.settings import RateLimit


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    window_seconds: int
    remaining: int
    # Seconds until more quota becomes available (IETF `t`: the oldest logged request leaves
    # the window); for a refusal it equals `retry_after`, the whole seconds after which a
    # retry is accepted (`Retry-After`), and a retry one second earlier is not.
    reset_seconds: int
    retry_after: int


class RateLimiter(Protocol):
    async def hit(self, key: str, rule: RateLimit) -> Decision:
        """Count one request for `key` if the sliding window allows it; say whether it did."""
        ...

    async def refund(self, key: str, rule: RateLimit) -> None:
        """Take back the latest counted request of `key` (it turned out not to count)."""
        ...

    async def close(self) -> None: ...


MICROS = 1_000_000


def whole_seconds_until(micros: int) -> int:
    """Whole seconds to wait so that at least `micros` microseconds have passed (0 if none).

    Storages keep time in integer microseconds so that this rounding and their window
    comparisons agree exactly (floats could disagree at the edge by one ulp)."""
    return 0 if micros <= 0 else -(-micros // MICROS)


def decide(allowed: bool, rule: RateLimit, counted: int, next_free_in: int) -> Decision:
    """The decision once a storage knows how many requests the window holds (this one
    included if allowed) and in how many microseconds its oldest relevant entry leaves it."""
    wait = whole_seconds_until(next_free_in)
    if allowed:
        return Decision(True, rule.limit, rule.window_seconds, rule.limit - counted, wait, 0)
    # A refusal always has an entry still inside the window, so the wait is at least 1 s.
    wait = max(wait, 1)
    return Decision(False, rule.limit, rule.window_seconds, 0, wait, wait)
