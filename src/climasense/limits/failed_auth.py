"""Throttling failed authentication per client address, so keys can't be guessed at speed
(CONTRACT §3).

Only failures count: a key is looked up first, and only a key that turns out not to be valid
is counted against its client address; past `limit` failures in the window the answer is
`429` instead of `401`. A valid key is never refused by the throttle — a thousand devices
reconnecting from one NAT address after a restart are all served.

The database is protected from a flood of forged keys another way: lookups of keys the
process does not know are bounded — at most `max_lookups` at once in the process, and an
address that is over its failure limit gets at most four lookups at a time. A forger then
costs a few indexed queries in flight, and valid devices behind that address still get
through (a few at a time).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.requests import HTTPConnection

from climasense.errors import RateLimited
from climasense.limits.base import RateLimiter
from climasense.limits.headers import rate_limit_headers
from climasense.observability import metrics
from climasense.proxies import ProxyResolver
from climasense.settings import RateLimit

POLICY = "failed_auth"
# Lookups at once for an address over its failure limit: a forger holds this many indexed
# queries in flight at most, and valid devices behind the same address still get through.
OVER_LIMIT_LOOKUPS = 4


class FailedAuthThrottle:
    def __init__(
        self,
        limiter: RateLimiter,
        rule: RateLimit,
        *,
        proxies: ProxyResolver | None = None,
        max_lookups: int = 32,
    ) -> None:
        self._limiter = limiter
        self._rule = rule
        self._proxies = proxies or ProxyResolver(())
        self._lookups = asyncio.Semaphore(max_lookups)
        # Addresses over their failure limit (as last seen by this process) → until when.
        self._over: dict[str, float] = {}
        self._serial: dict[str, asyncio.Semaphore] = {}

    def client_address(self, connection: HTTPConnection) -> str:
        return self._proxies.client_address(connection.scope)

    def _is_over(self, address: str) -> bool:
        until = self._over.get(address)
        if until is None:
            return False
        if time.monotonic() >= until:
            self._over.pop(address, None)
            return False
        return True

    @asynccontextmanager
    async def lookup_slot(self, address: str | None) -> AsyncIterator[None]:
        """Hold while looking an unknown key up: bounded in the process, and at most
        `OVER_LIMIT_LOOKUPS` at once for an address that is over its failure limit."""
        gate: asyncio.Semaphore | None = None
        if address is not None and self._is_over(address):
            gate = self._serial.get(address)
            if gate is None:
                gate = self._serial[address] = asyncio.Semaphore(OVER_LIMIT_LOOKUPS)
        if gate is None:
            async with self._lookups:
                yield
            return
        async with gate, self._lookups:
            yield

    async def failure(self, address: str) -> None:
        """Count a failed authentication of `address`; RateLimited if it has too many."""
        decision = await self._limiter.hit(f"{POLICY}:{address}", self._rule)
        if not decision.allowed:
            if len(self._over) > 100_000:
                self._over.clear()  # rare; rebuilt from the next failures
            self._over[address] = time.monotonic() + decision.retry_after
            if len(self._serial) > len(self._over):
                # Drop the gates of addresses no longer over (unused ones only).
                for stale in [a for a in self._serial if a not in self._over]:
                    if not self._serial[stale].locked():
                        del self._serial[stale]
            metrics.rate_limited(POLICY)
            raise RateLimited(
                "Too many failed authentication attempts from this address; "
                f"retry in {decision.retry_after} s",
                headers={
                    "Retry-After": str(decision.retry_after),
                    **rate_limit_headers(POLICY, decision),
                },
            )
