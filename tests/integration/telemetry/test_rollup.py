"""The hourly rollup off the ingest path (plain PostgreSQL, `telemetry.rollup`, migration
0112): hourly buckets are exact at every moment — before the job has run, after it, with late
readings invalidating hours already materialized — and moving the threshold waits for ingest
transactions in flight, so no reading is missed by the materialization that follows."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from climasense.telemetry import repository, rollup
from climasense.telemetry.repository import Bucket
from climasense.telemetry.writer import GroupRows

HOUR = timedelta(hours=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SENSOR_TYPES = [1, 2]


@pytest.fixture
async def pool(fresh_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(fresh_database_url, min_size=2, max_size=4)
    assert pool is not None
    if await repository.storage_engine(pool) == "timescaledb":
        pytest.skip("TimescaleDB keeps its own continuous aggregate")
    try:
        yield pool
    finally:
        await pool.close()


async def add_devices(pool: asyncpg.Pool, count: int) -> list[uuid.UUID]:
    devices = [uuid.uuid4() for _ in range(count)]
    await pool.executemany(
        """INSERT INTO devices (device_id, serial_number, kind, model, batch)
           VALUES ($1, $2, 'standalone', 'CS-100', 'rollup')""",
        [(d, f"CS-RU-{d.hex[:10]}") for d in devices],
    )
    return devices


def group(readings: list[tuple[uuid.UUID, int, datetime, float]]) -> GroupRows:
    rows = GroupRows()
    positions: dict[uuid.UUID, int] = {}
    for device_id, sensor_type, ts, value in readings:
        if device_id not in positions:
            rows.devices.append(device_id)
            positions[device_id] = len(rows.devices)
            rows.seen[device_id] = (None, None)
        rows.subjects.append(positions[device_id])
        rows.sensor_types.append(sensor_type)
        rows.micros.append((ts - EPOCH) // timedelta(microseconds=1))
        rows.values.append(value)
        rows.hubs.append(None)
    return rows


async def write(
    conn: asyncpg.Connection | asyncpg.Pool,
    readings: list[tuple[uuid.UUID, int, datetime, float]],
) -> None:
    engine = await repository.storage_engine(conn)
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as one:
            await repository.write_group(one, repository.ingest_statement(engine), group(readings))
    else:
        await repository.write_group(conn, repository.ingest_statement(engine), group(readings))


def rounded(buckets: list[Bucket]) -> list[tuple[datetime, int, int, float, float, float]]:
    # avg: sum/count of the hours against avg() of the readings, equal to the last few bits.
    return [(b.start, b.sensor_type, b.count, round(b.avg, 9), b.min, b.max) for b in buckets]


async def answers_match(
    pool: asyncpg.Pool, device_id: uuid.UUID, start: datetime, end: datetime
) -> None:
    for width in (HOUR, 2 * HOUR):
        from_rollup = await repository.rollup_buckets(
            pool, device_id, SENSOR_TYPES, start, end, width
        )
        from_readings = await repository.raw_buckets(
            pool, device_id, SENSOR_TYPES, start, end, width
        )
        assert rounded(from_rollup) == rounded(from_readings)


def next_hour() -> datetime:
    """Readings ahead of the database's clock, so the test moves the threshold itself."""
    now = datetime.now(UTC)
    return now.replace(minute=0, second=0, microsecond=0) + 2 * HOUR


async def test_hourly_buckets_are_exact_at_every_step(pool: asyncpg.Pool) -> None:
    """Random groups (with duplicates and late readings) interleaved with rounds of the job
    at a clock moving forward: after every step the hourly and two-hourly buckets equal
    those computed from the readings themselves; at the end every hour is materialized."""
    devices = await add_devices(pool, 3)
    base = next_hour()
    start, end = base - 2 * HOUR, base + 10 * HOUR
    rng = random.Random(20261201)
    clock = 0
    for _step in range(60):
        if rng.random() < 0.25 and clock < 8:
            clock += rng.choice((1, 1, 2))
            await rollup.materialize(pool, base + clock * HOUR + 7 * timedelta(minutes=1))
        else:
            readings = [
                (
                    rng.choice(devices),
                    rng.choice(SENSOR_TYPES),
                    # Mostly around the clock's hour, sometimes hours behind it (late).
                    base + rng.randrange(0, (clock + 2) * 60) * timedelta(minutes=1),
                    round(rng.uniform(-10, 40), 2),
                )
                for _ in range(rng.randrange(1, 30))
            ]
            unique = {(d, s, ts): (d, s, ts, v) for d, s, ts, v in readings}
            await write(pool, list(unique.values()))
        for device_id in devices:
            await answers_match(pool, device_id, start, end)
    assert clock > 3
    late = await pool.fetchval("SELECT count(*) FROM rollup_invalidations")
    await rollup.materialize(pool, base + 11 * HOUR)
    assert await pool.fetchval("SELECT count(*) FROM rollup_invalidations") == 0
    materialized = await pool.fetch(
        "SELECT device_id, sensor_type, bucket, count, sum FROM readings_hourly ORDER BY 1, 2, 3"
    )
    computed = await pool.fetch(
        """SELECT device_id, sensor_type, date_trunc('hour', ts, 'UTC') AS bucket,
                  count(*) AS count, sum(value) AS sum
           FROM readings GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
    )
    assert [tuple(r)[:4] for r in materialized] == [tuple(r)[:4] for r in computed]
    assert [round(r["sum"], 6) for r in materialized] == [round(r["sum"], 6) for r in computed]
    assert late > 0, "the random walk wrote no late reading: it tests less than it says"
    for device_id in devices:
        await answers_match(pool, device_id, start, end)


async def test_a_late_reading_invalidates_its_hour_until_the_job_recomputes_it(
    pool: asyncpg.Pool,
) -> None:
    (device_id,) = await add_devices(pool, 1)
    base = next_hour()
    await write(pool, [(device_id, 1, base + timedelta(minutes=10), 20.0)])
    assert await pool.fetchval("SELECT count(*) FROM rollup_invalidations") == 0
    done = await rollup.materialize(pool, base + 2 * HOUR)
    assert done.materialized_until == base + 2 * HOUR
    assert done.hours_written == 1

    await write(pool, [(device_id, 1, base + timedelta(minutes=20), 30.0)])  # late now
    assert await pool.fetchval("SELECT count(*) FROM rollup_invalidations") == 1
    (bucket,) = await repository.rollup_buckets(pool, device_id, [1], base, base + HOUR, HOUR)
    assert (bucket.count, bucket.avg, bucket.min, bucket.max) == (2, 25.0, 20.0, 30.0)
    assert await pool.fetchval("SELECT count FROM readings_hourly") == 1  # not yet recomputed

    done = await rollup.materialize(pool, base + 2 * HOUR)
    assert (done.hours_written, done.hours_recomputed) == (0, 1)
    assert await pool.fetchval("SELECT count FROM readings_hourly") == 2
    assert await pool.fetchval("SELECT count(*) FROM rollup_invalidations") == 0
    again = await repository.rollup_buckets(pool, device_id, [1], base, base + HOUR, HOUR)
    assert again == [bucket]


async def test_moving_the_threshold_waits_for_ingest_in_flight(
    pool: asyncpg.Pool, fresh_database_url: str
) -> None:
    """An ingest transaction that read the old threshold (its reading not late, so no
    invalidation) holds the threshold's lock until it commits: the job waits, and the
    materialization after it sees the reading."""
    (device_id,) = await add_devices(pool, 1)
    base = next_hour()
    conn = await asyncpg.connect(fresh_database_url)
    try:
        transaction = conn.transaction()
        await transaction.start()
        await write(conn, [(device_id, 1, base + timedelta(minutes=5), 21.5)])
        job = asyncio.ensure_future(rollup.materialize(pool, base + 2 * HOUR))
        await asyncio.sleep(0.5)
        assert not job.done(), "the threshold moved under an ingest transaction in flight"
        await transaction.commit()
        done = await asyncio.wait_for(job, 10)
    finally:
        await conn.close()
    assert done.hours_written == 1
    assert await pool.fetchval("SELECT count(*) FROM rollup_invalidations") == 0
    row = await pool.fetchrow("SELECT bucket, count, sum FROM readings_hourly")
    assert tuple(row) == (base, 1, 21.5)


async def test_the_job_catches_up_over_days(pool: asyncpg.Pool) -> None:
    (device_id,) = await add_devices(pool, 1)
    base = next_hour()
    readings = [(device_id, 1, base + i * 6 * HOUR, float(i)) for i in range(12)]  # 3 days
    await write(pool, readings)
    done = await rollup.materialize(pool, base + 3 * 24 * HOUR)
    assert done.materialized_until == base + 3 * 24 * HOUR
    assert done.hours_written == 12
    assert await pool.fetchval("SELECT count(*) FROM readings_hourly") == 12
    await answers_match(pool, device_id, base, base + 3 * 24 * HOUR)


async def test_a_round_that_does_not_move_the_threshold_does_not_wait_for_ingest(
    pool: asyncpg.Pool, fresh_database_url: str
) -> None:
    """The job runs every minute, the threshold moves once an hour: the other rounds do not
    take the exclusive lock, so they neither wait for nor hold up ingest."""
    (device_id,) = await add_devices(pool, 1)
    base = next_hour()
    await rollup.materialize(pool, base + HOUR)
    conn = await asyncpg.connect(fresh_database_url)
    try:
        transaction = conn.transaction()
        await transaction.start()
        await write(conn, [(device_id, 1, base + HOUR + timedelta(minutes=5), 19.0)])
        done = await asyncio.wait_for(rollup.materialize(pool, base + HOUR), 5)
        assert done.materialized_until == base + HOUR
        await transaction.commit()
    finally:
        await conn.close()
