"""Throttling failed authentication per client address, so keys can't be guessed at speed.

Every key that is not already in the credential cache is an attempt of its client address:
the attempt is counted before the database is asked and given back if the key turns out to
be valid (or the lookup fails for another reason). An address with `limit` failed attempts
in the window gets `429` without a lookup; valid keys the process already knows keep working
from that address, so one bad actor behind a shared NAT does not lock out its devices.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from climasense.errors import RateLimited
from climasense.limits.base import RateLimiter
from climasense.limits.headers import rate_limit_headers
from climasense.observability import metrics
from climasense.settings import RateLimit

POLICY = "failed_auth"


class FailedAuthThrottle:
    def __init__(
        self, limiter: RateLimiter, rule: RateLimit, *, trust_forwarded_for: bool = False
    ) -> None:
        self._limiter = limiter
        self._rule = rule
        self._trust_forwarded_for = trust_forwarded_for

    def client_address(self, connection: HTTPConnection) -> str:
        if self._trust_forwarded_for:
            # Only behind a proxy that sets the header: a client can write anything into it.
            forwarded = connection.headers.get("x-forwarded-for", "")
            first = forwarded.split(",", 1)[0].strip()
            if first:
                return first
        client = connection.client
        return client.host if client is not None else "unknown"

    async def attempt(self, address: str) -> None:
        """Count an authentication attempt of `address`; RateLimited if it has too many."""
        decision = await self._limiter.hit(f"{POLICY}:{address}", self._rule)
        if not decision.allowed:
            metrics.rate_limited(POLICY)
            raise RateLimited(
                "Too many failed authentication attempts from this address; "
                f"retry in {decision.retry_after} s",
                headers={
                    "Retry-After": str(decision.retry_after),
                    **rate_limit_headers(POLICY, decision),
                },
            )

    async def give_back(self, address: str) -> None:
        """The attempt did not fail authentication: it does not count."""
        await self._limiter.refund(f"{POLICY}:{address}", self._rule)
