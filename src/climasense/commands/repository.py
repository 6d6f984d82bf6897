"""SQL for the command queue.

Time is the database's `now()` everywhere, so every API process and the worker agree on which
commands have expired.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

LIVE = "('pending', 'delivered')"

# What operators see. A live command past its expiry shows as expired even before the worker
# has marked it.
_VIEW_COLUMNS = f"""
    seq, command_id, device_id, type, payload,
    CASE WHEN status IN {LIVE} AND expires_at <= now() THEN 'expired' ELSE status END AS status,
    created_at, expires_at, delivered_at, acked_at, failed_at,
    CASE WHEN status = 'expired' OR (status IN {LIVE} AND expires_at <= now())
         THEN expires_at END AS expired_at,
    cancelled_at, cancel_reason, superseded_by, settings_version, result, error_message
"""


async def insert_command(
    conn: asyncpg.Connection,
    *,
    command_id: UUID,
    device_id: UUID,
    command_type: str,
    payload: dict[str, Any],
    ttl_seconds: int,
    settings_version: int | None = None,
) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""INSERT INTO commands
                (command_id, device_id, type, payload, expires_at, settings_version)
            VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5), $6)
            RETURNING {_VIEW_COLUMNS}""",
        command_id,
        device_id,
        command_type,
        payload,
        float(ttl_seconds),
        settings_version,
    )


async def supersede_config_updates(
    conn: asyncpg.Connection, device_id: UUID, superseded_by: UUID | None
) -> int:
    """Cancel the device's config_update commands it has not fetched yet: the newer document
    replaces them. Fetched ones stay live (the device may be applying them)."""
    status: str = await conn.execute(
        """UPDATE commands
           SET status = 'cancelled', cancelled_at = now(), cancel_reason = 'superseded',
               superseded_by = $2
           WHERE device_id = $1 AND type = 'config_update' AND status = 'pending'
             AND expires_at > now()""",
        device_id,
        superseded_by,
    )
    return int(status.rsplit(" ", 1)[-1])


async def fetch_pending(pool: asyncpg.Pool, device_id: UUID, limit: int) -> list[asyncpg.Record]:
    """The device's live commands, oldest first, marking never-fetched ones as delivered.

    One statement (its own transaction). Nothing is written when there is nothing new, which
    is the usual poll.
    """
    return await pool.fetch(
        f"""WITH live AS (
                SELECT command_id, type, payload, expires_at, seq, status
                FROM commands
                WHERE device_id = $1 AND status IN {LIVE} AND expires_at > now()
                ORDER BY seq
                LIMIT $2
            ), marked AS (
                UPDATE commands c SET status = 'delivered', delivered_at = now()
                FROM live
                WHERE c.command_id = live.command_id AND live.status = 'pending'
                  AND c.status = 'pending'
            )
            SELECT command_id, type, payload, expires_at FROM live ORDER BY seq""",
        device_id,
        limit,
    )


async def lock_command(
    conn: asyncpg.Connection, command_id: UUID, device_id: UUID | None = None
) -> asyncpg.Record | None:
    """The command (only if it is this device's, when `device_id` is given), locked, with
    `expired` true when its time is up."""
    return await conn.fetchrow(
        """SELECT command_id, device_id, type, status, settings_version, acked_at, failed_at,
                  expires_at <= now() AS past_expiry
           FROM commands
           WHERE command_id = $1 AND ($2::uuid IS NULL OR device_id = $2)
           FOR UPDATE""",
        command_id,
        device_id,
    )


async def record_answer(
    conn: asyncpg.Connection,
    command_id: UUID,
    *,
    status: str,
    result: dict[str, Any] | None,
    error_message: str | None,
) -> datetime:
    answered_at: datetime = await conn.fetchval(
        """UPDATE commands
           SET status = $2, result = $3, error_message = $4,
               delivered_at = coalesce(delivered_at, now()),
               acked_at = CASE WHEN $2 = 'acked' THEN now() END,
               failed_at = CASE WHEN $2 = 'failed' THEN now() END
           WHERE command_id = $1
           RETURNING now()""",
        command_id,
        status,
        result,
        error_message,
    )
    return answered_at


async def mark_expired(conn: asyncpg.Connection, command_id: UUID) -> None:
    await conn.execute(
        f"UPDATE commands SET status = 'expired' WHERE command_id = $1 AND status IN {LIVE}",
        command_id,
    )


async def expire_due(conn: asyncpg.Connection, limit: int) -> int:
    """Mark up to `limit` live commands past their expiry as expired; return how many."""
    status: str = await conn.execute(
        f"""UPDATE commands SET status = 'expired'
            WHERE command_id IN (
                SELECT command_id FROM commands
                WHERE status IN {LIVE} AND expires_at <= now()
                ORDER BY expires_at
                LIMIT $1
                FOR UPDATE SKIP LOCKED)""",
        limit,
    )
    return int(status.rsplit(" ", 1)[-1])


async def cancel(conn: asyncpg.Connection, command_id: UUID) -> None:
    await conn.execute(
        """UPDATE commands
           SET status = 'cancelled', cancelled_at = now(), cancel_reason = 'operator'
           WHERE command_id = $1""",
        command_id,
    )


async def get_command(
    conn: asyncpg.Pool | asyncpg.Connection, command_id: UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_VIEW_COLUMNS} FROM commands WHERE command_id = $1", command_id
    )


async def history(
    conn: asyncpg.Pool | asyncpg.Connection, device_id: UUID, *, before: int | None, limit: int
) -> list[asyncpg.Record]:
    """The device's commands, newest first; `before` is the `seq` the previous page ended at."""
    return await conn.fetch(
        f"""SELECT {_VIEW_COLUMNS} FROM commands
            WHERE device_id = $1 AND ($2::bigint IS NULL OR seq < $2)
            ORDER BY seq DESC LIMIT $3""",
        device_id,
        before,
        limit,
    )


async def device_for_command(conn: asyncpg.Connection, device_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT serial_number, kind FROM devices WHERE device_id = $1", device_id
    )


async def device_exists(conn: asyncpg.Pool | asyncpg.Connection, device_id: UUID) -> bool:
    return bool(await conn.fetchval("SELECT true FROM devices WHERE device_id = $1", device_id))
