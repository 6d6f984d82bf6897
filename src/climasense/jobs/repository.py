"""SQL for bulk jobs. Creating one is a single INSERT … SELECT over the matched devices (no
per-device round trip); its progress is counted from its commands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeAlias
from uuid import UUID

import asyncpg

_JOB_COLUMNS = """j.job_id, j.kind, j.selector, j.command_type, j.target_count, j.cancelled,
    j.created_at, j.cancelled_at"""

# Per-command state as operators see it (a live command past expiry counts as expired). Not
# `cancelled`: the list reads these beside the job's own `cancelled` flag, and a record with two
# columns of one name answers the last (the count) for both.
_COUNTS = """
    count(*) FILTER (WHERE c.status = 'pending' AND c.expires_at > now()) AS queued,
    count(*) FILTER (WHERE c.status = 'delivered' AND c.expires_at > now()) AS delivered,
    count(*) FILTER (WHERE c.status = 'acked') AS acked,
    count(*) FILTER (WHERE c.status = 'failed') AS failed,
    count(*) FILTER (WHERE c.status = 'expired'
                     OR (c.status IN ('pending', 'delivered') AND c.expires_at <= now()))
        AS expired,
    count(*) FILTER (WHERE c.status = 'cancelled') AS cancelled_commands
"""

# A job over the whole of a large fleet is one statement that writes a row per device (100k
# devices: seconds, see docs/performance.md), longer than the pool's default command timeout.
BULK_TIMEOUT_SECONDS = 300.0

# Jobs reach devices that can receive commands: active standalone devices and hubs.
TARGETABLE = "d.kind <> 'zigbee_sensor' AND d.status = 'active'"

_DOCUMENT = """jsonb_build_object(
    'reporting_interval_seconds', s.reporting_interval_seconds,
    'enabled_sensors', to_jsonb(s.enabled_sensors), 'location', s.location,
    'timezone', s.timezone, 'version', s.version)"""


JobKind: TypeAlias = Literal["command", "settings"]


@dataclass(frozen=True, slots=True)
class Job:
    """A job as stored (`service.JobProgress` adds its state and its commands' counts)."""

    job_id: UUID
    kind: JobKind
    # The selector's JSON as kept (`Selector.stored()`), shown to operators as it is: the API
    # declares it a free-form object, so it stays a dict here.
    selector: dict[str, Any]
    command_type: str | None
    target_count: int
    cancelled: bool
    created_at: datetime
    cancelled_at: datetime | None


@dataclass(frozen=True, slots=True)
class CommandCounts:
    """The job's commands in each state as operators see it (the API's `JobCounts` reads
    these): a live command past its expiry counts as expired."""

    queued: int
    delivered: int
    acked: int
    failed: int
    expired: int
    cancelled: int

    @property
    def unanswered(self) -> int:
        """Commands a device may still receive or answer."""
        return self.queued + self.delivered


def _job(row: asyncpg.Record) -> Job:
    return Job(
        job_id=row["job_id"],
        kind=row["kind"],
        selector=row["selector"],
        command_type=row["command_type"],
        target_count=row["target_count"],
        cancelled=row["cancelled"],
        created_at=row["created_at"],
        cancelled_at=row["cancelled_at"],
    )


def _counts(row: asyncpg.Record) -> CommandCounts:
    return CommandCounts(
        queued=row["queued"],
        delivered=row["delivered"],
        acked=row["acked"],
        failed=row["failed"],
        expired=row["expired"],
        cancelled=row["cancelled_commands"],
    )


@dataclass(frozen=True, slots=True)
class SettingsChange:
    """A settings job's checked merge patch, as the bulk UPDATE applies it to each device:
    a field left None stays as it is."""

    reporting_interval_seconds: int | None = None
    enabled_sensors: tuple[str, ...] | None = None
    # Members merged into each device's location (a null member removes that one); their
    # values are the patch's JSON as checked, so it stays a dict here.
    location: dict[str, Any] | None = None
    clear_location: bool = False  # the patch's `location` was null: remove the location
    timezone: str | None = None


async def insert_job(
    conn: asyncpg.Connection,
    *,
    job_id: UUID,
    kind: str,
    # Kept as JSON with the job: the selector's, the command's free-form payload, the checked
    # settings merge patch.
    selector: dict[str, Any],
    command_type: str | None,
    payload: dict[str, Any] | None,
    settings_patch: dict[str, Any] | None,
    ttl_seconds: int,
) -> None:
    await conn.execute(
        """INSERT INTO jobs (job_id, kind, selector, command_type, payload, settings_patch,
                             ttl_seconds, target_count)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 0)""",
        job_id,
        kind,
        selector,
        command_type,
        payload,
        settings_patch,
        ttl_seconds,
    )


async def insert_plain_commands(
    conn: asyncpg.Connection,
    *,
    job_id: UUID,
    condition: str,
    args: list[Any],
    command_type: str,
    payload: dict[str, Any],
    ttl_seconds: int,
) -> int:
    """One command per targetable device matching `condition`; how many."""
    n = len(args)
    status: str = await conn.execute(
        f"""INSERT INTO commands (command_id, device_id, type, payload, expires_at, job_id)
            SELECT gen_random_uuid(), d.device_id, ${n + 1}, ${n + 2}::jsonb,
                   now() + make_interval(secs => ${n + 3}), ${n + 4}
            FROM devices d
            WHERE {condition} AND {TARGETABLE}""",
        *args,
        command_type,
        payload,
        float(ttl_seconds),
        job_id,
        timeout=BULK_TIMEOUT_SECONDS,
    )
    return int(status.rsplit(" ", 1)[-1])


async def insert_config_updates(
    conn: asyncpg.Connection,
    *,
    job_id: UUID,
    condition: str,
    args: list[Any],
    ttl_seconds: int,
    change: SettingsChange | None,
) -> int:
    """For every targetable device matching `condition`: apply the settings `change` when
    given (a new version), supersede its unfetched config_updates and queue one carrying its
    whole new document — all in one statement. How many devices."""
    n = len(args)
    extra: list[Any] = [float(ttl_seconds), job_id]
    if change is not None:
        extra += [
            change.reporting_interval_seconds,
            None if change.enabled_sensors is None else list(change.enabled_sensors),
            change.clear_location or change.location is not None,
            change.location,
            change.timezone,
        ]
        settings_cte = f"""settings AS (
            UPDATE device_settings s
            SET reporting_interval_seconds = coalesce(${n + 3}::integer,
                                                      s.reporting_interval_seconds),
                enabled_sensors = coalesce(${n + 4}::text[], s.enabled_sensors),
                location = CASE WHEN NOT ${n + 5}::boolean THEN s.location
                                WHEN ${n + 6}::jsonb IS NULL THEN NULL
                                ELSE jsonb_strip_nulls(coalesce(s.location, '{{}}'::jsonb)
                                                       || ${n + 6}::jsonb) END,
                timezone = coalesce(${n + 7}::text, s.timezone),
                version = s.version + 1, updated_at = now()
            FROM targets t WHERE s.device_id = t.device_id
            RETURNING s.*, t.command_id)"""
    else:
        settings_cte = """settings AS (
            SELECT s.*, t.command_id FROM device_settings s JOIN targets t USING (device_id))"""
    status: str = await conn.execute(
        f"""WITH targets AS MATERIALIZED (
                SELECT d.device_id, gen_random_uuid() AS command_id FROM devices d
                WHERE {condition} AND {TARGETABLE}),
            {settings_cte},
            superseded AS (
                UPDATE commands c
                SET status = 'cancelled', cancelled_at = now(), cancel_reason = 'superseded',
                    superseded_by = t.command_id
                FROM targets t
                WHERE c.device_id = t.device_id AND c.type = 'config_update'
                  AND c.status = 'pending' AND c.expires_at > now())
            INSERT INTO commands
                (command_id, device_id, type, payload, expires_at, settings_version, job_id)
            SELECT s.command_id, s.device_id, 'config_update', {_DOCUMENT},
                   now() + make_interval(secs => ${n + 1}), s.version, ${n + 2}
            FROM settings s""",
        *args,
        *extra,
        timeout=BULK_TIMEOUT_SECONDS,
    )
    return int(status.rsplit(" ", 1)[-1])


async def set_target_count(conn: asyncpg.Connection, job_id: UUID, count: int) -> None:
    await conn.execute("UPDATE jobs SET target_count = $2 WHERE job_id = $1", job_id, count)


async def get_job(
    conn: asyncpg.Pool | asyncpg.Connection, job_id: UUID, *, for_update: bool = False
) -> Job | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {_JOB_COLUMNS} FROM jobs j WHERE job_id = $1{lock}", job_id)
    return None if row is None else _job(row)


async def counts(conn: asyncpg.Pool | asyncpg.Connection, job_id: UUID) -> CommandCounts:
    row = await conn.fetchrow(f"SELECT {_COUNTS} FROM commands c WHERE c.job_id = $1", job_id)
    return _counts(row)  # an aggregate: always one row


async def list_jobs(
    conn: asyncpg.Pool | asyncpg.Connection, *, before: tuple[datetime, UUID] | None, limit: int
) -> list[tuple[Job, CommandCounts]]:
    """Newest first, with each job's counts."""
    before_at, before_id = before if before is not None else (None, None)
    rows = await conn.fetch(
        f"""SELECT {_JOB_COLUMNS}, k.*
            FROM jobs j
            CROSS JOIN LATERAL (SELECT {_COUNTS} FROM commands c WHERE c.job_id = j.job_id) k
            WHERE $1::timestamptz IS NULL OR (j.created_at, j.job_id) < ($1, $2::uuid)
            ORDER BY j.created_at DESC, j.job_id DESC
            LIMIT $3""",
        before_at,
        before_id,
        limit,
    )
    return [(_job(row), _counts(row)) for row in rows]


async def cancel(conn: asyncpg.Connection, job_id: UUID) -> None:
    """Cancel the job's commands not yet answered (and not expired)."""
    await conn.execute(
        """UPDATE commands
           SET status = 'cancelled', cancelled_at = now(), cancel_reason = 'operator'
           WHERE job_id = $1 AND status IN ('pending', 'delivered') AND expires_at > now()""",
        job_id,
        timeout=BULK_TIMEOUT_SECONDS,
    )
    await conn.execute(
        """UPDATE jobs SET cancelled = true, cancelled_at = coalesce(cancelled_at, now())
           WHERE job_id = $1""",
        job_id,
    )
