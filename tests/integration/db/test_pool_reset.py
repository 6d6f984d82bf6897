"""What a pooled connection carries back to the pool (db/pool.py): no second round trip for a
plain use, a full reset for one given session state, an open transaction always rolled back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from climasense.alerts.evaluator import drain
from climasense.db import pool as pool_module
from climasense.db.migrate import migrate
from climasense.db.pool import connect, create_pool, holds_session_state


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, min_size=1, max_size=1)  # one connection, reused
    yield pool
    await pool.close()


async def test_a_plain_use_costs_no_reset_round_trip(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        before = conn._protocol.queries_count  # asyncpg's own count of round trips
    for _ in range(5):
        await pool.fetchval("SELECT 1")
    async with pool.acquire() as conn:
        # Five queries; asyncpg's default reset would have sent five more.
        assert conn._protocol.queries_count - before == 5


async def test_session_state_is_reset_when_the_connection_goes_back(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        pid = conn.get_server_pid()
        holds_session_state(conn)
        await conn.execute("SET lock_timeout = '1234ms'")
        await conn.execute("SELECT pg_advisory_lock(4242, 4242)")
    async with pool.acquire() as conn:
        assert conn.get_server_pid() == pid  # the same connection
        assert await conn.fetchval("SHOW lock_timeout") == "0"
        locks = await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = $1", pid
        )
        assert locks == 0


async def test_an_open_transaction_is_rolled_back(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await conn.execute("BEGIN")
        await conn.execute("CREATE TEMP TABLE left_open (x int)")
    async with pool.acquire() as conn:
        assert not conn.is_in_transaction()
        assert await conn.fetchval("SELECT to_regclass('pg_temp.left_open')") is None


async def test_migrations_and_a_drain_leave_no_lock_on_the_pool(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        pid = conn.get_server_pid()
        await migrate(conn)  # nothing pending: takes and gives back the migration lock
    await drain(pool)  # claims every free shard, evaluates, releases
    async with pool.acquire() as conn:
        assert conn.get_server_pid() == pid
        assert await conn.fetchval("SHOW lock_timeout") == "0"
        held = await conn.fetch(
            "SELECT classid, objid FROM pg_locks WHERE locktype = 'advisory' AND pid = $1", pid
        )
        assert held == [], [(r["classid"], r["objid"]) for r in held]


async def test_a_connection_of_its_own_is_not_recorded(database_url: str) -> None:
    # The evaluator's and the CLI's connections take session locks too; they are never
    # released to a pool, so recording them would only leave their pids behind.
    conn = await connect(database_url)
    try:
        holds_session_state(conn)
        assert conn.get_server_pid() not in pool_module._SESSION_STATE_PIDS
    finally:
        await conn.close()
