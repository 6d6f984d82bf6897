"""The rate-limiter interface every storage implements."""

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
    # Seconds until the quota is fully available again (IETF `t`), and for a refusal the
    # whole seconds after which a retry is accepted (`Retry-After`).
    reset_seconds: int
    retry_after: int


class RateLimiter(Protocol):
    async def hit(self, key: str, rule: RateLimit) -> Decision:
        """Count one request for `key` if the sliding window allows it; say whether it did."""
        ...

    async def close(self) -> None: ...
