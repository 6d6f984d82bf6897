"""In-process credential cache with a revocation feed.

A known key costs no database round trip. Every process polls `credential_events` (revoked or
rotated key hashes, in order) about once a second and drops those hashes; if polling has not
succeeded for `stale_after` seconds the cache is bypassed, so a revoked key is refused by every
API process within 5 seconds even while the feed is unreachable.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable

import asyncpg

from climasense.auth.principals import Principal

log = logging.getLogger(__name__)


class CredentialCache:
    def __init__(
        self,
        *,
        ttl: float = 300.0,
        max_entries: int = 200_000,
        stale_after: float = 4.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: OrderedDict[bytes, tuple[Principal, float]] = OrderedDict()
        self._ttl = ttl
        self._max = max_entries
        self._stale_after = stale_after
        self._clock = clock
        self._last_poll_ok = clock()
        self._last_event_id: int | None = None

    def get(self, key_hash: bytes) -> Principal | None:
        now = self._clock()
        if now - self._last_poll_ok > self._stale_after:
            return None
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        principal, expires = entry
        if now >= expires:
            self._entries.pop(key_hash, None)
            return None
        return principal

    def put(self, key_hash: bytes, principal: Principal) -> None:
        self._entries[key_hash] = (principal, self._clock() + self._ttl)
        self._entries.move_to_end(key_hash)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def evict(self, key_hash: bytes) -> None:
        self._entries.pop(key_hash, None)

    def clear(self) -> None:
        self._entries.clear()

    async def poll_once(self, pool: asyncpg.Pool) -> None:
        if self._last_event_id is None:
            self._last_event_id = await pool.fetchval(
                "SELECT coalesce(max(event_id), 0) FROM credential_events"
            )
            # Anything cached before we knew where the feed stood may be stale.
            self.clear()
        else:
            rows = await pool.fetch(
                "SELECT event_id, key_hash FROM credential_events WHERE event_id > $1 "
                "ORDER BY event_id",
                self._last_event_id,
            )
            for row in rows:
                self.evict(bytes(row["key_hash"]))
                self._last_event_id = row["event_id"]
        self._last_poll_ok = self._clock()

    async def run_poller(self, pool: asyncpg.Pool, interval: float) -> None:
        while True:
            try:
                await self.poll_once(pool)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("credential feed poll failed: %s", type(exc).__name__)
            await asyncio.sleep(interval)
