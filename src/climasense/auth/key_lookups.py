"""Device keys the credential cache does not know, looked up together.

After a restart (or a deploy, or a network outage at the marina) every device's next request
carries a key no process has cached, and each would cost its own query, its own pool
connection and its own round trip: a fleet reconnecting costs about 0.4 ms of CPU per device
and process (docs/performance.md, round 6), and those lookups compete for the pool with the
ingest writer. Here the misses that arrive while a lookup is running wait for the next one,
and each lookup answers all of them with one `key_hash = ANY(…)` query — as the ingest writer
groups commits. Idle, a lone miss is looked up at once (no added wait).

One lookup runs at a time per process: its size follows the load (the failed-auth throttle's
`lookup_slot` still bounds how many keys wait at once, and how many per over-limit address).
A failed query fails the requests of that lookup only (503: `http.errors`); the next lookup
starts fresh.
"""

from __future__ import annotations

import asyncio

import asyncpg

from climasense.auth import repository
from climasense.auth.principals import DevicePrincipal


def _retrieve(future: asyncio.Future[DevicePrincipal | None]) -> None:
    # A waiter may have gone (its request cancelled) while its key was looked up: reading the
    # outcome here keeps asyncio from reporting an exception nobody retrieved.
    if not future.cancelled():
        future.exception()


class DeviceKeyLookups:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._waiting: dict[bytes, asyncio.Future[DevicePrincipal | None]] = {}
        self._runner: asyncio.Task[None] | None = None
        self.queries = 0  # lookups run so far (tests, and what a metric would count)

    async def find(self, key_hash: bytes) -> DevicePrincipal | None:
        """The active device whose key has this hash, or None."""
        future = self._waiting.get(key_hash)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            future.add_done_callback(_retrieve)
            self._waiting[key_hash] = future
            if self._runner is None:
                self._runner = asyncio.create_task(self._run(), name="device-key-lookups")
        # Shielded: one request giving up must not cancel the lookup the others wait for.
        return await asyncio.shield(future)

    async def _run(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, {}
                self.queries += 1
                try:
                    found = await repository.find_devices_by_key_hashes(self._pool, list(batch))
                except Exception as exc:
                    for future in batch.values():
                        if not future.done():
                            future.set_exception(exc)
                    continue
                except BaseException:  # cancelled: the process is stopping
                    for future in batch.values():
                        future.cancel()
                    raise
                for key_hash, future in batch.items():
                    if not future.done():
                        future.set_result(found.get(key_hash))
        finally:
            self._runner = None
            for future in self._waiting.values():  # only if cancelled between lookups
                future.cancel()
            self._waiting.clear()
