"""The asyncpg pool every request and the worker share.

A connection going back to the pool is not sent asyncpg's default reset
(`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;`): that is a second round
trip after every use, and for a request of one query it doubled the cost — 102–142 vs
61–66 µs of client CPU, 54–56 vs 23–26 µs of PostgreSQL's, per `pool.fetchval`
(docs/performance.md, round 6). Nothing here leaves cursors, LISTENs or session settings on a
pooled connection, and asyncpg still rolls back a transaction left open. The two callers that
do give a pooled connection session state — the migration lock and its `SET lock_timeout`,
the alert evaluator's shard locks — call `holds_session_state(conn)` first, and such a
connection gets the full reset when it comes back, whatever happened meanwhile.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


# Backend process ids of pooled connections given session state (see above). A pid outlives
# its connection only if that connection is terminated rather than released: the cost is one
# unneeded full reset of a later connection that gets the same pid.
_SESSION_STATE_PIDS: set[int] = set()


def holds_session_state(conn: asyncpg.Connection) -> None:
    """Say that `conn` is about to take a session advisory lock or a session setting: if it is
    a pooled connection, the pool resets it fully when it is released. A connection of its own
    (the evaluator's, the CLI's) is not recorded: its session ends with it, and its pid would
    stay in the set."""
    if isinstance(conn, asyncpg.pool.PoolConnectionProxy):
        _SESSION_STATE_PIDS.add(conn.get_server_pid())


async def _reset_connection(conn: asyncpg.Connection) -> None:
    """The pool's reset on release (asyncpg has already rolled back an open transaction)."""
    pid = conn.get_server_pid()
    if pid in _SESSION_STATE_PIDS:
        _SESSION_STATE_PIDS.discard(pid)
        await conn.execute(conn.get_reset_query())


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=_dumps, decoder=orjson.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=_dumps, decoder=orjson.loads, schema="pg_catalog")


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min(min_size, max_size),
        max_size=max_size,
        init=_init_connection,
        reset=_reset_connection,
        command_timeout=30,
        server_settings={"application_name": "climasense", "timezone": "UTC"},
    )
    assert pool is not None  # asyncpg types it Optional; create_pool raises on failure
    return pool


async def connect(dsn: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn, server_settings={"timezone": "UTC"})
    await _init_connection(conn)
    return conn
