"""Picks the rate-limit storage from the settings."""

from __future__ import annotations

from climasense.errors import ConfigurationError
from climasense.limits.base import RateLimiter
from climasense.limits.memory import MemoryRateLimiter
from climasense.limits.redis import RedisRateLimiter
from climasense.settings import Settings


async def build_rate_limiter(settings: Settings) -> RateLimiter:
    if settings.redis_url is None:
        return MemoryRateLimiter()
    try:
        limiter = RedisRateLimiter.from_url(settings.redis_url)
    except ValueError as exc:
        raise ConfigurationError(f"CLIMASENSE_REDIS_URL is not a Redis URL: {exc}") from None
    # An unreachable Redis is not a reason to refuse to start: limits fall back per process.
    await limiter.start()
    return limiter
