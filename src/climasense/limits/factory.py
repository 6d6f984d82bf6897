"""Picks the rate-limit storage from the settings."""

from __future__ import annotations

from climasense.limits.base import RateLimiter
from climasense.limits.memory import MemoryRateLimiter
from climasense.settings import Settings


async def build_rate_limiter(settings: Settings) -> RateLimiter:
    return MemoryRateLimiter()
