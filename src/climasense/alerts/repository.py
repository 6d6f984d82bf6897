"""SQL for alerts, series state and the outbox (the evaluator's and the operator API's)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, TypeAlias
from uuid import UUID

import asyncpg

from climasense.alerts.evaluation import Reading, SeriesState
from climasense.alerts.rules import Subject

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool

ALERT_COLUMNS = """
    a.alert_id, a.rule_id, a.subject_id, a.device_id, a.sensor_id, st.name AS sensor_type,
    a.severity, a.state, a.opened_at, a.resolved_at, a.acknowledged_at, a.value,
    a.resolved_value, a.created_at
"""
_ALERT_FROM = "alerts a LEFT JOIN sensor_types st ON st.code = a.sensor_type"


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert as stored and as the API shows it (`AlertOut` reads these attributes)."""

    alert_id: UUID
    rule_id: UUID
    device_id: UUID  # for a hub's Zigbee sensor, the hub
    sensor_id: UUID | None
    sensor_type: str | None  # a sensor type name; None for device_offline
    severity: str
    state: str
    opened_at: datetime
    resolved_at: datetime | None
    acknowledged_at: datetime | None
    value: float | None
    resolved_value: float | None

    def document(self) -> dict[str, Any]:
        """The alert as a JSON document (webhook events, the device detail)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class NewAlert:
    """An alert the evaluator opens (`open_alerts` inserts it)."""

    rule_id: UUID
    subject_id: UUID
    device_id: UUID
    sensor_id: UUID | None
    sensor_type: int  # the sensor type's code
    severity: str
    opened_at: datetime
    value: float | None


_NEW_ALERT_COLUMNS = tuple(f.name for f in dataclasses.fields(NewAlert))


def alert_from_row(row: asyncpg.Record) -> Alert:
    return Alert(
        alert_id=row["alert_id"],
        rule_id=row["rule_id"],
        device_id=row["device_id"],
        sensor_id=row["sensor_id"],
        sensor_type=row["sensor_type"],
        severity=row["severity"],
        state=row["state"],
        opened_at=row["opened_at"],
        resolved_at=row["resolved_at"],
        acknowledged_at=row["acknowledged_at"],
        value=row["value"],
        resolved_value=row["resolved_value"],
    )


# --- the evaluator ---------------------------------------------------------------------------


class OutboxRow(NamedTuple):
    """Readings of one telemetry batch the evaluator has still to look at."""

    device_id: UUID
    sensor_types: list[int]
    timestamps: list[datetime]
    values: list[float]
    created_at: datetime


async def claim_outbox(conn: asyncpg.Connection, shards: list[int], limit: int) -> list[OutboxRow]:
    """Delete (and return) the oldest outbox rows of these shards, in this transaction: they are
    gone exactly when the alert changes they cause commit."""
    rows = await conn.fetch(
        # `= ANY(ARRAY(...))`, not `IN (...)`: the claimed ids are an array the delete looks up
        # in the primary key. With `IN`, statistics taken while the outbox was empty (its usual
        # state) made the planner look each id up by scanning the whole shard index.
        """DELETE FROM alert_outbox WHERE outbox_id = ANY(ARRAY(
               SELECT outbox_id FROM alert_outbox WHERE shard = ANY($1::smallint[])
               ORDER BY outbox_id LIMIT $2 FOR UPDATE SKIP LOCKED))
           RETURNING device_id, sensor_types, timestamps, "values", created_at""",
        shards,
        limit,
    )
    return [OutboxRow(*row) for row in rows]


async def subjects(conn: asyncpg.Connection, device_ids: list[UUID]) -> dict[UUID, Subject]:
    """The devices that took these readings, by id (unknown ids are left out)."""
    rows = await conn.fetch(
        """SELECT d.device_id, d.kind, d.batch, d.hub_id, h.batch AS hub_batch
           FROM devices d LEFT JOIN devices h ON h.device_id = d.hub_id
           WHERE d.device_id = ANY($1::uuid[])""",
        device_ids,
    )
    return {r["device_id"]: Subject(*r) for r in rows}


async def load_series(
    conn: asyncpg.Connection, subject_ids: list[UUID]
) -> dict[tuple[UUID, UUID], SeriesState]:
    rows = await conn.fetch(
        """SELECT subject_id, rule_id, last_ts, last_value, last_fail_ts, run_start
           FROM alert_series WHERE subject_id = ANY($1::uuid[])""",
        subject_ids,
    )
    # Positional: a batch loads a few thousand of these, and lookups by name cost more.
    return {
        (subject_id, rule_id): SeriesState(last_ts, last_value, last_fail_ts, run_start)
        for subject_id, rule_id, last_ts, last_value, last_fail_ts, run_start in rows
    }


async def unresolved_alerts(
    conn: asyncpg.Connection, subject_ids: list[UUID]
) -> dict[tuple[UUID, UUID], UUID]:
    """(subject, rule) → alert_id of every open or acknowledged alert of these subjects."""
    rows = await conn.fetch(
        """SELECT alert_id, rule_id, subject_id FROM alerts
           WHERE subject_id = ANY($1::uuid[]) AND state <> 'resolved'""",
        subject_ids,
    )
    return {(r["subject_id"], r["rule_id"]): r["alert_id"] for r in rows}


async def stored_window(
    conn: asyncpg.Connection, subject_id: UUID, sensor_type: int, start: datetime, end: datetime
) -> list[Reading]:
    rows = await conn.fetch(
        """SELECT ts, value FROM readings
           WHERE device_id = $1 AND sensor_type = $2 AND ts BETWEEN $3 AND $4 ORDER BY ts""",
        subject_id,
        sensor_type,
        start,
        end,
    )
    return [(r["ts"], r["value"]) for r in rows]


async def save_series(
    conn: asyncpg.Connection, keys: Sequence[tuple[UUID, UUID]], states: Sequence[SeriesState]
) -> None:
    """Insert (or overwrite) the state of series that had none stored."""
    if not keys:
        return
    await conn.execute(
        """INSERT INTO alert_series AS s
               (subject_id, rule_id, last_ts, last_value, last_fail_ts, run_start)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::float8[],
                                $5::timestamptz[], $6::timestamptz[])
           ON CONFLICT (subject_id, rule_id) DO UPDATE SET
               last_ts = excluded.last_ts, last_value = excluded.last_value,
               last_fail_ts = excluded.last_fail_ts, run_start = excluded.run_start""",
        *_series_columns(keys, states),
    )


async def update_series(
    conn: asyncpg.Connection, keys: Sequence[tuple[UUID, UUID]], states: Sequence[SeriesState]
) -> None:
    """Overwrite the stored state of series `load_series` returned in this transaction.

    A plain update, cheaper for PostgreSQL than the upsert of `save_series` (no speculative
    insertion, and with the table's fillfactor a HOT update). The rows are there: a rule change,
    the only thing that deletes them, waits for the rules lock the batch holds."""
    if not keys:
        return
    await conn.execute(
        """UPDATE alert_series AS s SET
               last_ts = u.last_ts, last_value = u.last_value,
               last_fail_ts = u.last_fail_ts, run_start = u.run_start
           FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::float8[],
                       $5::timestamptz[], $6::timestamptz[])
                AS u(subject_id, rule_id, last_ts, last_value, last_fail_ts, run_start)
           WHERE s.subject_id = u.subject_id AND s.rule_id = u.rule_id""",
        *_series_columns(keys, states),
    )


def _series_columns(
    keys: Sequence[tuple[UUID, UUID]], states: Sequence[SeriesState]
) -> tuple[list[Any], ...]:
    return (
        [k[0] for k in keys],
        [k[1] for k in keys],
        [s.last_ts for s in states],
        [s.last_value for s in states],
        [s.last_fail_ts for s in states],
        [s.run_start for s in states],
    )


async def update_values(
    conn: asyncpg.Connection, alert_ids: list[UUID], values: list[float]
) -> None:
    if alert_ids:
        await conn.execute(
            """UPDATE alerts a SET value = u.value, updated_at = clock_timestamp()
               FROM unnest($1::uuid[], $2::float8[]) AS u(alert_id, value)
               WHERE a.alert_id = u.alert_id""",
            alert_ids,
            values,
        )


async def resolve(
    conn: asyncpg.Connection,
    alert_ids: list[UUID],
    resolved_at: list[datetime],
    resolved_values: list[float | None],
) -> list[UUID]:
    if not alert_ids:
        return []
    rows = await conn.fetch(
        """UPDATE alerts a SET state = 'resolved', resolved_at = u.resolved_at,
                  resolved_value = u.resolved_value, updated_at = clock_timestamp()
           FROM unnest($1::uuid[], $2::timestamptz[], $3::float8[])
                AS u(alert_id, resolved_at, resolved_value)
           WHERE a.alert_id = u.alert_id AND a.state <> 'resolved'
           RETURNING a.alert_id""",
        alert_ids,
        resolved_at,
        resolved_values,
    )
    return [r["alert_id"] for r in rows]


async def open_alerts(conn: asyncpg.Connection, new_alerts: list[NewAlert]) -> list[UUID]:
    """Insert new open alerts; one that would be a second unresolved alert for its (rule,
    subject) is not inserted (the partial unique index), and not returned."""
    if not new_alerts:
        return []
    rows = await conn.fetch(
        """INSERT INTO alerts (rule_id, subject_id, device_id, sensor_id, sensor_type, severity,
                               state, opened_at, value)
           SELECT rule_id, subject_id, device_id, sensor_id, sensor_type, severity, 'open',
                  opened_at, value
           FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::smallint[],
                       $6::text[], $7::timestamptz[], $8::float8[])
                AS n(rule_id, subject_id, device_id, sensor_id, sensor_type, severity,
                     opened_at, value)
           ON CONFLICT (rule_id, subject_id) WHERE state <> 'resolved' DO NOTHING
           RETURNING alert_id""",
        *([getattr(a, column) for a in new_alerts] for column in _NEW_ALERT_COLUMNS),
    )
    return [r["alert_id"] for r in rows]


async def alerts_by_id(conn: asyncpg.Connection, alert_ids: list[UUID]) -> list[Alert]:
    rows = await conn.fetch(
        f"SELECT {ALERT_COLUMNS} FROM {_ALERT_FROM} WHERE a.alert_id = ANY($1::uuid[])",
        alert_ids,
    )
    return [alert_from_row(r) for r in rows]


# --- the operator API ------------------------------------------------------------------------


async def list_alerts(
    conn: Conn,
    *,
    state: str | None,
    device_id: UUID | None,
    severity: str | None,
    rule_id: UUID | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[Alert]:
    conditions = ["true"]
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if state is not None:
        conditions.append(f"a.state = {arg(state)}")
    if device_id is not None:
        placeholder = arg(device_id)
        conditions.append(f"(a.device_id = {placeholder} OR a.sensor_id = {placeholder})")
    if severity is not None:
        conditions.append(f"a.severity = {arg(severity)}")
    if rule_id is not None:
        conditions.append(f"a.rule_id = {arg(rule_id)}")
    if after is not None:
        conditions.append(f"(a.opened_at, a.alert_id) < ({arg(after[0])}, {arg(after[1])})")
    rows = await conn.fetch(
        f"""SELECT {ALERT_COLUMNS} FROM {_ALERT_FROM}
            WHERE {" AND ".join(conditions)}
            ORDER BY a.opened_at DESC, a.alert_id DESC LIMIT {arg(limit)}""",
        *args,
    )
    return [alert_from_row(r) for r in rows]


async def unresolved_for_device(conn: Conn, device_id: UUID) -> list[Alert]:
    rows = await conn.fetch(
        f"""SELECT {ALERT_COLUMNS} FROM {_ALERT_FROM}
            WHERE (a.device_id = $1 OR a.subject_id = $1) AND a.state <> 'resolved'
            ORDER BY a.opened_at DESC, a.alert_id DESC""",
        device_id,
    )
    return [alert_from_row(r) for r in rows]


async def acknowledge(conn: Conn, alert_id: UUID) -> Alert | None:
    """Acknowledge an open alert; returns the alert row (whatever its state), None if unknown."""
    await conn.execute(
        """UPDATE alerts SET state = 'acknowledged', acknowledged_at = clock_timestamp(),
                  updated_at = clock_timestamp()
           WHERE alert_id = $1 AND state = 'open'""",
        alert_id,
    )
    row = await conn.fetchrow(
        f"SELECT {ALERT_COLUMNS} FROM {_ALERT_FROM} WHERE a.alert_id = $1", alert_id
    )
    return None if row is None else alert_from_row(row)
