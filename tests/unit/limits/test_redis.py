"""What only the Redis limiter does: the server's clock, key expiry, and falling back to
per-process limits while Redis is down (logged once), switching back when it returns."""

from __future__ import annotations

import asyncio
import logging
import secrets

import pytest
from redis.asyncio import Redis

from climasense.limits.redis import RedisRateLimiter
from climasense.settings import RateLimit
from tests.support.redis import redis_process

pytestmark = pytest.mark.redis


async def test_uses_the_redis_clock_and_expires_idle_keys(redis_url: str) -> None:
    prefix = f"test:{secrets.token_hex(6)}:"
    limiter = RedisRateLimiter.from_url(redis_url, prefix=prefix)
    client = Redis.from_url(redis_url)
    try:
        rule = RateLimit(2, 30)
        first = await limiter.hit("dev", rule)
        second = await limiter.hit("dev", rule)
        third = await limiter.hit("dev", rule)
        assert (first.allowed, second.allowed, third.allowed) == (True, True, False)
        assert third.retry_after in {30, 29}
        ttl_ms = await client.pttl(prefix + "dev")
        assert 29_000 < ttl_ms <= 31_000
        assert await client.llen(prefix + "dev") == 2
    finally:
        await client.delete(prefix + "dev")
        await client.aclose()
        await limiter.close()


async def test_falls_back_while_redis_is_down_and_returns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rule = RateLimit(3, 60)
    with redis_process() as redis:
        limiter = RedisRateLimiter.from_url(redis.url, probe_interval=0.05)
        try:
            await limiter.start()
            assert limiter.healthy
            assert (await limiter.hit("dev", rule)).remaining == 2

            redis.kill()
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="climasense.limits.redis"):
                outcomes = [(await limiter.hit("dev", rule)).allowed for _ in range(5)]
            # Per process from a fresh log: the limit still holds, nothing raised.
            assert outcomes == [True, True, True, False, False]
            assert not limiter.healthy
            warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
            assert len(warnings) == 1

            redis.start()
            for _ in range(100):
                if limiter.healthy:
                    break
                await asyncio.sleep(0.05)
            assert limiter.healthy
            # Back on Redis, whose log was lost with the process: a fresh window there.
            assert (await limiter.hit("dev", rule)).remaining == 2
        finally:
            await limiter.close()


async def test_starts_on_the_fallback_when_redis_is_down_at_start() -> None:
    with redis_process() as redis:
        url = redis.url
    limiter = RedisRateLimiter.from_url(url, probe_interval=60)
    try:
        await limiter.start()
        assert not limiter.healthy
        decision = await limiter.hit("dev", RateLimit(1, 60))
        assert decision.allowed
        assert not (await limiter.hit("dev", RateLimit(1, 60))).allowed
    finally:
        await limiter.close()
