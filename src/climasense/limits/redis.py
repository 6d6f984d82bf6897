"""The sliding-window log in Redis, shared by every API process.

One Lua script per decision (`scripts.SLIDING_LOG`): atomic across processes, one round trip,
timed by the Redis server's clock so that processes on different hosts agree. When Redis is
unreachable the limiter falls back to a per-process `MemoryRateLimiter` — logged once per
outage, never an error for the device — and a background probe switches back when Redis
answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from climasense.limits.base import MICROS, Decision, decide
from climasense.limits.memory import MemoryRateLimiter
from climasense.limits.scripts import SLIDING_LOG
from climasense.settings import RateLimit

log = logging.getLogger(__name__)

# Anything Redis can throw at us (refused connection, timeout, loading, OOM, read-only
# replica) means "limit locally for now"; the probe runs the same script, so a persistent
# failure keeps us on the fallback instead of flapping.
REDIS_FAILURES = (redis_errors.RedisError, OSError, asyncio.TimeoutError)


class RedisRateLimiter:
    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "climasense:rl:",
        clock: Callable[[], float] | None = None,
        fallback: MemoryRateLimiter | None = None,
        probe_interval: float = 1.0,
    ) -> None:
        self._client = client
        self._script = client.register_script(SLIDING_LOG)
        self._prefix = prefix
        # Tests pass a clock to control time; in production the script reads Redis's clock.
        self._clock = clock
        if fallback is None:
            fallback = MemoryRateLimiter() if clock is None else MemoryRateLimiter(clock)
        self.fallback = fallback
        self._probe_interval = probe_interval
        self._probe: asyncio.Task[None] | None = None
        self.healthy = True

    @classmethod
    def from_url(cls, url: str, **options: object) -> RedisRateLimiter:
        client = Redis.from_url(
            url,
            # A dead Redis must cost a request milliseconds, not the client's default 5 s
            # with retries: the first failure switches to the fallback.
            socket_connect_timeout=0.5,
            socket_timeout=0.5,
            retry=Retry(NoBackoff(), 0),
        )
        return cls(client, **options)  # type: ignore[arg-type]

    async def start(self) -> None:
        """Check Redis once at start: if it is down, start on the fallback (and say so)."""
        try:
            await self._client.ping()
        except REDIS_FAILURES as exc:
            self._degrade(exc)

    async def hit(self, key: str, rule: RateLimit) -> Decision:
        if self.healthy:
            try:
                reply = await self._run(key, rule.limit, rule.window_seconds * MICROS)
            except REDIS_FAILURES as exc:
                self._degrade(exc)
            else:
                allowed, counted, next_free_in = reply
                return decide(bool(allowed), rule, int(counted), int(next_free_in))
        return await self.fallback.hit(key, rule)

    async def refund(self, key: str, rule: RateLimit) -> None:
        if self.healthy:
            try:
                await self._client.lpop(self._prefix + key)
            except REDIS_FAILURES as exc:
                self._degrade(exc)
            return
        await self.fallback.refund(key, rule)

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        await self._client.aclose()
        await self.fallback.close()

    async def _run(self, key: str, limit: int, window: int) -> list[int]:
        now = "" if self._clock is None else str(int(self._clock() * MICROS))
        reply: list[int] = await self._script(keys=[self._prefix + key], args=[limit, window, now])
        return reply

    def _degrade(self, exc: BaseException) -> None:
        if not self.healthy:
            return
        self.healthy = False
        log.warning(
            "Redis unreachable (%s: %s); rate limits are per process until it returns",
            type(exc).__name__,
            exc,
        )
        self._probe = asyncio.get_running_loop().create_task(self._probe_until_healthy())

    async def _probe_until_healthy(self) -> None:
        while True:
            await asyncio.sleep(self._probe_interval)
            try:
                await self._run("probe", 1_000_000, MICROS)
            except REDIS_FAILURES:
                continue
            self.healthy = True
            log.warning("Redis reachable again; rate limits are shared across processes again")
            return
