"""SQL for the command queue.

Time is the database's `now()` everywhere, so every API process and the worker agree on which
commands have expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

LIVE = "('pending', 'delivered')"


@dataclass(frozen=True, slots=True)
class Command:
    """A command as operators see it (`CommandView` reads these attributes): `status` is
    already `expired` for a live command past its expiry; `seq` orders a device's commands."""

    seq: int
    command_id: UUID
    device_id: UUID
    type: str
    payload: dict[str, Any]
    status: str
    created_at: datetime
    expires_at: datetime
    delivered_at: datetime | None
    acked_at: datetime | None
    failed_at: datetime | None
    expired_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    superseded_by: UUID | None
    settings_version: int | None
    result: dict[str, Any] | None
    error_message: str | None


@dataclass(frozen=True, slots=True)
class PendingCommand:
    """A live command as its device fetches it."""

    command_id: UUID
    type: str
    payload: dict[str, Any]
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LockedCommand:
    """A command locked for an answer or a cancel; `past_expiry` when its time is up."""

    command_id: UUID
    device_id: UUID
    type: str
    status: str
    settings_version: int | None
    acked_at: datetime | None
    failed_at: datetime | None
    past_expiry: bool


@dataclass(frozen=True, slots=True)
class CommandTarget:
    """What sending a command needs to know of its device."""

    serial_number: str
    kind: str


def _command(row: asyncpg.Record) -> Command:
    return Command(
        seq=row["seq"],
        command_id=row["command_id"],
        device_id=row["device_id"],
        type=row["type"],
        payload=row["payload"],
        status=row["status"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        delivered_at=row["delivered_at"],
        acked_at=row["acked_at"],
        failed_at=row["failed_at"],
        expired_at=row["expired_at"],
        cancelled_at=row["cancelled_at"],
        cancel_reason=row["cancel_reason"],
        superseded_by=row["superseded_by"],
        settings_version=row["settings_version"],
        result=row["result"],
        error_message=row["error_message"],
    )


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
) -> Command:
    row = await conn.fetchrow(
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
    return _command(row)


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


async def fetch_pending(pool: asyncpg.Pool, device_id: UUID, limit: int) -> list[PendingCommand]:
    """The device's live commands, oldest first, marking never-fetched ones as delivered.

    One statement (its own transaction). Nothing is written when there is nothing new, which
    is the usual poll.
    """
    rows = await pool.fetch(
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
    return [
        PendingCommand(
            command_id=row["command_id"],
            type=row["type"],
            payload=row["payload"],
            expires_at=row["expires_at"],
        )
        for row in rows
    ]


async def lock_command(
    conn: asyncpg.Connection, command_id: UUID, device_id: UUID | None = None
) -> LockedCommand | None:
    """The command (only if it is this device's, when `device_id` is given), locked, with
    `past_expiry` true when its time is up."""
    row = await conn.fetchrow(
        """SELECT command_id, device_id, type, status, settings_version, acked_at, failed_at,
                  expires_at <= now() AS past_expiry
           FROM commands
           WHERE command_id = $1 AND ($2::uuid IS NULL OR device_id = $2)
           FOR UPDATE""",
        command_id,
        device_id,
    )
    if row is None:
        return None
    return LockedCommand(
        command_id=row["command_id"],
        device_id=row["device_id"],
        type=row["type"],
        status=row["status"],
        settings_version=row["settings_version"],
        acked_at=row["acked_at"],
        failed_at=row["failed_at"],
        past_expiry=row["past_expiry"],
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


async def get_command(conn: asyncpg.Pool | asyncpg.Connection, command_id: UUID) -> Command | None:
    row = await conn.fetchrow(
        f"SELECT {_VIEW_COLUMNS} FROM commands WHERE command_id = $1", command_id
    )
    return None if row is None else _command(row)


async def history(
    conn: asyncpg.Pool | asyncpg.Connection, device_id: UUID, *, before: int | None, limit: int
) -> list[Command]:
    """The device's commands, newest first; `before` is the `seq` the previous page ended at."""
    rows = await conn.fetch(
        f"""SELECT {_VIEW_COLUMNS} FROM commands
            WHERE device_id = $1 AND ($2::bigint IS NULL OR seq < $2)
            ORDER BY seq DESC LIMIT $3""",
        device_id,
        before,
        limit,
    )
    return [_command(row) for row in rows]


async def device_for_command(conn: asyncpg.Connection, device_id: UUID) -> CommandTarget | None:
    row = await conn.fetchrow(
        "SELECT serial_number, kind FROM devices WHERE device_id = $1", device_id
    )
    return None if row is None else CommandTarget(row["serial_number"], row["kind"])


async def device_exists(conn: asyncpg.Pool | asyncpg.Connection, device_id: UUID) -> bool:
    return bool(await conn.fetchval("SELECT true FROM devices WHERE device_id = $1", device_id))
