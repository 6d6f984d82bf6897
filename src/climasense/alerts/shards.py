"""Which evaluator owns which outbox shard: session advisory locks, balanced across workers.

Ingest spreads devices over `SHARD_COUNT` shards (fixed when the outbox row is written). An
evaluator holds a session-level advisory lock per shard it owns, on the connection it
evaluates with, so one device's readings are evaluated by one process at a time and a crashed
process's shards are free the moment its connection drops. Every evaluator also holds a
"presence" lock keyed by its backend pid; counting those tells each one its fair share
(ceil(shards / evaluators)), so a second worker takes half the shards within one rebalance and
a dead one's shards are picked up by the rest.
"""

from __future__ import annotations

import math
import random

import asyncpg

from climasense.db.pool import holds_session_state

SHARD_COUNT = 64
# A generator of our own: the module-wide one is shared state (a test's seed, hypothesis's
# check that nothing else draws from it while it generates), and this needs no seed.
_shuffler = random.Random()
# Two-key advisory locks (classid, objid); the namespaces only have to be unique in this app.
SHARD_LOCK_SPACE = 0x616C7274  # "alrt"
PRESENCE_LOCK_SPACE = 0x616C7270  # "alrp"

_COUNT_EVALUATORS = """
    SELECT count(*) FROM pg_locks
    WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND classid = $1
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


class ShardLeases:
    def __init__(self, conn: asyncpg.Connection, shard_count: int = SHARD_COUNT) -> None:
        # Every lock taken through `conn` is a session advisory lock: if it is pooled (a
        # drain), the pool resets it fully when it goes back, whatever happened meanwhile.
        holds_session_state(conn)
        self.conn = conn
        self.shard_count = shard_count
        self.owned: set[int] = set()
        self.joined = False

    async def join(self) -> None:
        await self.conn.execute(
            "SELECT pg_advisory_lock($1, pg_backend_pid())", PRESENCE_LOCK_SPACE
        )
        self.joined = True

    async def rebalance(self) -> None:
        evaluators = max(1, await self.conn.fetchval(_COUNT_EVALUATORS, PRESENCE_LOCK_SPACE))
        target = math.ceil(self.shard_count / evaluators)
        while len(self.owned) > target:
            shard = max(self.owned)
            await self.conn.execute("SELECT pg_advisory_unlock($1, $2)", SHARD_LOCK_SPACE, shard)
            self.owned.discard(shard)
        if len(self.owned) >= target:
            return
        free = [s for s in range(self.shard_count) if s not in self.owned]
        _shuffler.shuffle(free)  # so workers starting together do not all race for shard 0
        for shard in free:
            if len(self.owned) >= target:
                break
            if await self.conn.fetchval(
                "SELECT pg_try_advisory_lock($1, $2)", SHARD_LOCK_SPACE, shard
            ):
                self.owned.add(shard)

    async def claim_all(self) -> None:
        """Take every shard no one else holds (a one-off drain)."""
        for shard in range(self.shard_count):
            if shard not in self.owned and await self.conn.fetchval(
                "SELECT pg_try_advisory_lock($1, $2)", SHARD_LOCK_SPACE, shard
            ):
                self.owned.add(shard)

    async def release_all(self) -> None:
        for shard in sorted(self.owned):
            await self.conn.execute("SELECT pg_advisory_unlock($1, $2)", SHARD_LOCK_SPACE, shard)
        self.owned.clear()
        if self.joined:
            await self.conn.execute(
                "SELECT pg_advisory_unlock($1, pg_backend_pid())", PRESENCE_LOCK_SPACE
            )
            self.joined = False
