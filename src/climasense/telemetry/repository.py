"""SQL of telemetry: the ingest statement, sensor ownership, and reading queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from climasense.alerts.outbox import OUTBOX_CTE
from climasense.sensor_types import SENSOR_TYPES


def _by_code(column: str) -> str:
    """An array of the newest `column` of each sensor type, at the position of its code (NULL
    where the group has no reading of that type): the layout of `devices.latest_ts`."""
    codes = range(1, max(t.code for t in SENSOR_TYPES) + 1)
    return (
        "ARRAY[" + ", ".join(f"max({column}) FILTER (WHERE sensor_type = {c})" for c in codes) + "]"
    )


# One statement = one implicit transaction = one round trip for a whole group commit.
# Parameters are compact, because encoding them is the writer's main CPU cost: each device id
# is sent once ($9) and readings refer to it by 1-based position (subject; hub NULL for a
# device's own readings), timestamps are int8 microseconds since the Unix epoch (exact: the
# float8 product stays below 2^53 µs), not a uuid and a timestamptz per reading.
# The integer columns travel as the text form of an array (`{1,2,3}`, cast by PostgreSQL):
# asyncpg's binary array encoder checks every element against `collections.abc.Iterable`
# through a Python-level `__instancecheck__` (~200 ns an element here), while `str` and `join`
# are C and PostgreSQL's `array_in` parses integers about as fast as it receives binary ones
# (docs/performance.md, round 4). The values stay binary `float8[]`: `repr` of a float costs
# more than asyncpg's check. No hub in the group (the usual case): $5 is NULL, and `unnest`
# pads the shorter (empty) array with NULLs, as it did for an array of NULLs.
# Data-modifying CTEs all run to completion and see the same snapshot; `ins` returns only the
# rows this statement inserted (ON CONFLICT DO NOTHING skips readings already stored), so the
# outbox, latest values and rollups are fed exactly the new readings, each once. The outbox CTE
# belongs to the alert system (`alerts.outbox`, with its shard count).
# `seen` updates every reporting device's row once: last seen, position, and the latest value
# of each sensor type (`devices.latest_ts`/`latest_values`, by code, migration 0113), merged
# element by element so that only a newer reading replaces a stored one. The newest reading of
# each type in the group comes from `DISTINCT ON`; after it a (device, type) has one row, so
# `max(...) FILTER` just places it at its code.
_SOURCE = """
src AS (
    SELECT ($9::uuid[])[s.subject] AS device_id, s.sensor_type,
           timestamptz 'epoch' + s.micros * interval '1 microsecond' AS ts, s.value,
           ($9::uuid[])[s.hub] AS hub_id, s.ord{BELOW}
    FROM unnest($1::text::int4[], $2::text::int2[], $3::text::int8[], $4::float8[],
                $5::text::int4[])
        WITH ORDINALITY AS s(subject, sensor_type, micros, value, hub, ord)
),
{INSERT},
{OUTBOX},
seen AS (
    UPDATE devices AS d
    SET last_seen_at = greatest(d.last_seen_at, now()),
        latitude = coalesce(t.latitude, d.latitude),
        longitude = coalesce(t.longitude, d.longitude),
        position_at = CASE WHEN t.latitude IS NULL THEN d.position_at ELSE now() END,
        latest_ts = CASE WHEN n.device_id IS NULL THEN d.latest_ts ELSE ARRAY(
            SELECT CASE WHEN stored_ts IS NULL OR new_ts > stored_ts THEN new_ts ELSE stored_ts END
            FROM unnest(d.latest_ts, n.ts) AS u(stored_ts, new_ts)) END,
        latest_values = CASE WHEN n.device_id IS NULL THEN d.latest_values ELSE ARRAY(
            SELECT CASE WHEN stored_ts IS NULL OR new_ts > stored_ts
                        THEN new_value ELSE stored_value END
            FROM unnest(d.latest_ts, n.ts, d.latest_values, n.value)
                AS u(stored_ts, new_ts, stored_value, new_value)) END
    FROM unnest($6::uuid[], $7::float8[], $8::float8[]) AS t(device_id, latitude, longitude)
    LEFT JOIN (
        SELECT device_id, {NEWEST_TS} AS ts, {NEWEST_VALUE} AS value
        FROM (SELECT DISTINCT ON (device_id, sensor_type) device_id, sensor_type, ts, value
              FROM ins ORDER BY device_id, sensor_type, ts DESC) AS newest
        GROUP BY device_id
    ) AS n ON n.device_id = t.device_id
    WHERE d.device_id = t.device_id
)""".replace("{NEWEST_TS}", _by_code("ts")).replace("{NEWEST_VALUE}", _by_code("value"))


# Plain PostgreSQL: the hourly rollup is materialized off the ingest path (`telemetry.rollup`,
# migration 0112); ingest only records the hours of readings older than the threshold the
# rollup job has moved past (late or backfilled readings, rarely any), so those hours are
# recomputed. `rollup_invalidate_below()` takes the shared side of the lock that keeps the
# threshold and the materialization exact. It is an InitPlan of `src`, evaluated once, when
# `ins` pulls the first row — before the statement locks any row (0112 says why that matters).
_BELOW = """,
           (SELECT rollup_invalidate_below()) AS below"""
_LATE = """,
late AS (
    INSERT INTO rollup_invalidations (device_id, sensor_type, bucket)
    SELECT DISTINCT device_id, sensor_type, date_trunc('hour', ts, 'UTC') FROM ins
    WHERE ts < (SELECT below FROM src LIMIT 1)
    ON CONFLICT DO NOTHING
)"""

# What the writer needs back: which readings were already stored (usually none).
_DUPLICATES = """
SELECT s.ord FROM src s
WHERE NOT EXISTS (
    SELECT 1 FROM ins i
    WHERE i.device_id = s.device_id AND i.sensor_type = s.sensor_type AND i.ts = s.ts)"""


# The full statement's insert: `ins` is what it stored, stored readings left out.
_INSERT_SKIPPING_STORED = """ins AS (
    INSERT INTO readings (device_id, sensor_type, ts, value, hub_id)
    SELECT device_id, sensor_type, ts, value, hub_id FROM src
    ON CONFLICT DO NOTHING
    RETURNING device_id, sensor_type, ts, value
)"""
# The statement for a group in which no reading is stored yet (`new_only`): a plain insert,
# without `ON CONFLICT` and without the duplicate report. PostgreSQL's `ON CONFLICT` is a
# speculative insertion: an index probe before each row, then a second WAL record to confirm
# it; together with the report's anti-join that is about a fifth of the statement's CPU
# (docs/performance.md, round 9). A reading already stored makes this statement fail with a
# unique violation, rolled back whole, and the writer commits the group again with the full
# statement. Everything in `src` is inserted or nothing is, so `ins` is `src` itself, read in
# place: collecting the inserted rows from `RETURNING` into a CTE of their own cost ~15 % more
# in round 9's variants.
_INSERT_ALL = """stored AS (
    INSERT INTO readings (device_id, sensor_type, ts, value, hub_id)
    SELECT device_id, sensor_type, ts, value, hub_id FROM src
),
ins AS NOT MATERIALIZED (SELECT device_id, sensor_type, ts, value FROM src)"""
_NO_REPORT = """
SELECT 1 WHERE false"""


def ingest_statement(engine: str, *, new_only: bool = False) -> str:
    """TimescaleDB keeps the hourly rollup as a continuous aggregate; plain PostgreSQL as
    a real-time rollup that ingest only invalidates for late readings.

    The full statement skips readings already stored and returns their positions;
    `new_only` returns nothing and raises `UniqueViolationError` if any reading is stored."""
    timescale = engine == "timescaledb"
    source = _SOURCE.replace("{OUTBOX}", OUTBOX_CTE).replace("{BELOW}", "" if timescale else _BELOW)
    late = "" if timescale else _LATE
    if new_only:
        return f"WITH {source.replace('{INSERT}', _INSERT_ALL)}{late}{_NO_REPORT}"
    return f"WITH {source.replace('{INSERT}', _INSERT_SKIPPING_STORED)}{late}{_DUPLICATES}"


@dataclass(slots=True)
class GroupRows:
    """The columns of one commit: deduplicated readings and the devices to mark seen.

    Compact on purpose (see `repository.write_group`): devices by 1-based position in
    `devices`, timestamps as integer microseconds since the Unix epoch."""

    devices: list[UUID] = field(default_factory=list)
    subjects: list[int] = field(default_factory=list)
    sensor_types: list[int] = field(default_factory=list)
    micros: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    hubs: list[int | None] = field(default_factory=list)
    # Position in the arrays above (1-based, like SQL ordinality) → submission index.
    owners: list[int] = field(default_factory=list)
    # Readings repeated inside the group itself: duplicates before the database sees them.
    repeats: list[int] = field(default_factory=list)
    seen: dict[UUID, tuple[float | None, float | None]] = field(default_factory=dict)


def int_array_text(values: list[int]) -> str:
    """PostgreSQL's text form of an integer array: `{1,-2,3}`."""
    return "{" + ",".join(map(str, values)) + "}"


def hub_array_text(hubs: list[int | None]) -> str | None:
    """The hub positions as array text; None (SQL NULL) when no reading has a hub."""
    if hubs.count(None) == len(hubs):
        return None
    return "{" + ",".join("NULL" if hub is None else str(hub) for hub in hubs) + "}"


async def write_group(conn: asyncpg.Connection, statement: str, rows: GroupRows) -> list[int]:
    """Commit a group; return the 1-based positions of readings that were already stored."""
    seen = sorted(rows.seen.items())
    records = await conn.fetch(
        statement,
        int_array_text(rows.subjects),
        int_array_text(rows.sensor_types),
        int_array_text(rows.micros),
        rows.values,
        hub_array_text(rows.hubs),
        [device_id for device_id, _ in seen],
        [position[0] for _, position in seen],
        [position[1] for _, position in seen],
        rows.devices,
    )
    return [record[0] for record in records]


async def storage_engine(pool: asyncpg.Pool | asyncpg.Connection) -> str:
    engine: str = await pool.fetchval("SELECT engine FROM storage_info")
    return engine


async def registered_sensors(pool: asyncpg.Pool, hub_id: UUID, candidates: list[UUID]) -> set[UUID]:
    """Which of `candidates` are Zigbee sensors paired to this hub."""
    rows = await pool.fetch(
        """SELECT device_id FROM devices
           WHERE device_id = ANY($1::uuid[]) AND hub_id = $2 AND kind = 'zigbee_sensor'
             AND status = 'active'""",
        candidates,
        hub_id,
    )
    return {row["device_id"] for row in rows}


async def device_kind(pool: asyncpg.Pool, device_id: UUID) -> str | None:
    kind: str | None = await pool.fetchval(
        "SELECT kind FROM devices WHERE device_id = $1", device_id
    )
    return kind


async def sensor_of_hub(pool: asyncpg.Pool, hub_id: UUID, sensor_id: UUID) -> bool:
    found = await pool.fetchval(
        """SELECT 1 FROM devices
           WHERE device_id = $1 AND hub_id = $2 AND kind = 'zigbee_sensor'
             AND status = 'active'""",
        sensor_id,
        hub_id,
    )
    return found is not None


@dataclass(frozen=True, slots=True)
class Point:
    """One stored reading of a device, as the telemetry query reads it."""

    ts: datetime
    sensor_type: int
    value: float


@dataclass(frozen=True, slots=True)
class Bucket:
    """count/avg/min/max of one sensor type's readings in [start, start + width)."""

    start: datetime
    sensor_type: int
    count: int
    avg: float
    min: float
    max: float


def _point(row: asyncpg.Record) -> Point:
    return Point(ts=row["ts"], sensor_type=row["sensor_type"], value=row["value"])


def _bucket(row: asyncpg.Record) -> Bucket:
    return Bucket(
        start=row["start"],
        sensor_type=row["sensor_type"],
        count=row["count"],
        avg=row["avg"],
        min=row["min"],
        max=row["max"],
    )


async def points(
    pool: asyncpg.Pool,
    device_id: UUID,
    sensor_types: list[int],
    start: datetime | None,
    end: datetime | None,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[Point]:
    """Raw readings oldest first, keyset-paginated on (ts, sensor_type).

    One ordered index scan per sensor type (the primary key is (device_id, sensor_type, ts)),
    merged: no extra index on (device_id, ts) to maintain on the ingest path.
    """
    after_ts, after_type = after if after is not None else (None, 0)
    rows = await pool.fetch(
        """SELECT r.ts, r.sensor_type, r.value
           FROM unnest($2::int2[]) AS t(code)
           CROSS JOIN LATERAL (
               SELECT ts, sensor_type, value FROM readings
               WHERE device_id = $1 AND sensor_type = t.code
                 AND ($3::timestamptz IS NULL OR ts >= $3)
                 AND ($4::timestamptz IS NULL OR ts < $4)
                 AND ($5::timestamptz IS NULL OR ts > $5 OR (ts = $5 AND t.code > $6))
                 AND ($5::timestamptz IS NULL OR ts >= $5)
               ORDER BY ts LIMIT $7
           ) AS r
           ORDER BY r.ts, r.sensor_type
           LIMIT $7""",
        device_id,
        sensor_types,
        start,
        end,
        after_ts,
        after_type,
        limit,
    )
    return [_point(row) for row in rows]


async def raw_buckets(
    pool: asyncpg.Pool,
    device_id: UUID,
    sensor_types: list[int],
    start: datetime,
    end: datetime,
    width: timedelta,
) -> list[Bucket]:
    rows = await pool.fetch(
        """SELECT date_bin($5::interval, ts, timestamptz '1970-01-01 00:00:00+00') AS start,
                  sensor_type, count(*) AS count, avg(value) AS avg,
                  min(value) AS min, max(value) AS max
           FROM readings
           WHERE device_id = $1 AND sensor_type = ANY($2::int2[]) AND ts >= $3 AND ts < $4
           GROUP BY 1, 2 ORDER BY 1, 2""",
        device_id,
        sensor_types,
        start,
        end,
        width,
    )
    return [_bucket(row) for row in rows]


async def rollup_buckets(
    pool: asyncpg.Pool,
    device_id: UUID,
    sensor_types: list[int],
    start: datetime,
    end: datetime,
    width: timedelta,
) -> list[Bucket]:
    """Buckets of whole hours: the materialized hours of `readings_hourly`, and from
    `readings` the hours not materialized yet — from `materialized_until` on, and any hour a
    late reading has invalidated (plain PostgreSQL, `telemetry.rollup`). On TimescaleDB
    `readings_hourly` is a real-time continuous aggregate and `materialized_until` is
    infinity, so only it is read. One statement, one snapshot: a late reading and its
    invalidation commit together, the job's recomputed rows and the invalidation's removal
    too, so every reading is counted once at any moment."""
    rows = await pool.fetch(
        """WITH state AS (SELECT materialized_until AS until FROM rollup_state),
           stale AS (
               SELECT i.sensor_type, i.bucket FROM rollup_invalidations i, state
               WHERE i.device_id = $1 AND i.sensor_type = ANY($2::int2[])
                 AND i.bucket >= $3 AND i.bucket < $4 AND i.bucket < state.until),
           hours AS (
               SELECT h.bucket, h.sensor_type, h.count, h.sum, h.min, h.max
               FROM readings_hourly h, state
               WHERE h.device_id = $1 AND h.sensor_type = ANY($2::int2[])
                 AND h.bucket >= $3 AND h.bucket < least($4, state.until)
                 AND NOT EXISTS (SELECT 1 FROM stale
                                 WHERE stale.sensor_type = h.sensor_type
                                   AND stale.bucket = h.bucket)
               UNION ALL
               SELECT date_trunc('hour', r.ts, 'UTC'), r.sensor_type,
                      count(*), sum(r.value), min(r.value), max(r.value)
               FROM readings r, state
               WHERE r.device_id = $1 AND r.sensor_type = ANY($2::int2[])
                 AND r.ts >= greatest($3, state.until) AND r.ts < $4
               GROUP BY 1, 2
               UNION ALL
               SELECT stale.bucket, stale.sensor_type,
                      count(*), sum(r.value), min(r.value), max(r.value)
               FROM stale JOIN readings r
                 ON r.device_id = $1 AND r.sensor_type = stale.sensor_type
                AND r.ts >= stale.bucket AND r.ts < stale.bucket + interval '1 hour'
               GROUP BY 1, 2)
           SELECT date_bin($5::interval, bucket, timestamptz '1970-01-01 00:00:00+00') AS start,
                  sensor_type, sum(count)::bigint AS count,
                  sum(sum) / sum(count) AS avg, min(min) AS min, max(max) AS max
           FROM hours
           GROUP BY 1, 2 ORDER BY 1, 2""",
        device_id,
        sensor_types,
        start,
        end,
        width,
    )
    return [_bucket(row) for row in rows]
