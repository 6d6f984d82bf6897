"""Plain-PostgreSQL storage: partitions made ahead, the default partition drained, retention."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from climasense.settings import Settings
from climasense.telemetry import partitions, rollup
from climasense.telemetry.maintenance import maintain
from climasense.telemetry.validation import ValidatedBatch
from climasense.telemetry.writer import IngestWriter
from tests.conftest import make_settings
from tests.support.factories import admin_token, provision
from tests.support.server import LiveServer, live_server

NOW = datetime(2026, 6, 10, 15, 30, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
async def quiet_server(fresh_database_url: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    """A server on a private database with no background worker (the test runs the job)."""
    settings = make_settings(
        fresh_database_url,
        tmp_path,
        run_worker=False,
        partition_days=7,
        backfill_days=30,
        retention_days=60,
    )
    async with live_server(settings) as live:
        yield live


async def run_job(live: LiveServer, now: datetime, **overrides: Any) -> None:
    settings: Settings = live.services.settings.with_overrides(**overrides)
    async with live.services.pool.acquire() as conn, conn.transaction():
        await maintain(conn, settings, now)


async def children(live: LiveServer) -> set[str]:
    rows = await live.services.pool.fetch(
        """SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'readings'::regclass"""
    )
    return {r["relname"] for r in rows}


async def ledger(live: LiveServer) -> list[partitions.Span]:
    async with live.services.pool.acquire() as conn:
        return await partitions.existing(conn)


async def write(live: LiveServer, device_id: str, *times: datetime) -> None:
    """Through the production writer, bypassing the API's time window (time travel)."""
    writer: IngestWriter = live.services.ingest
    batch = ValidatedBatch(total=len(times))
    for i, ts in enumerate(times):
        batch.indexes.append(i)
        batch.sensor_types.append(1)
        batch.timestamps.append(ts)
        batch.values.append(20.0)
        batch.sensor_ids.append(None)
    await writer.submit(UUID(device_id), batch)


async def partition_of(live: LiveServer, device_id: str, ts: datetime) -> str:
    name: str = await live.services.pool.fetchval(
        "SELECT tableoid::regclass::text FROM readings WHERE device_id = $1 AND ts = $2",
        UUID(device_id),
        ts,
    )
    return name


def test_the_grid_is_epoch_aligned_and_gaps_fill_around_existing() -> None:
    span = partitions.aligned(NOW, timedelta(days=7))
    assert span.lower <= NOW < span.upper
    assert (span.lower - partitions.EPOCH) % timedelta(days=7) == timedelta(0)
    assert span.name == f"readings_p{span.lower:%Y%m%d}"
    week = partitions.Span(NOW, NOW + 7 * DAY)
    middle = partitions.Span(NOW + 2 * DAY, NOW + 3 * DAY)
    assert partitions.gaps(week, [middle]) == [
        partitions.Span(NOW, NOW + 2 * DAY),
        partitions.Span(NOW + 3 * DAY, NOW + 7 * DAY),
    ]
    assert partitions.gaps(middle, [week]) == []


async def test_partitions_cover_the_backfill_window_and_two_ahead(
    quiet_server: LiveServer,
) -> None:
    await run_job(quiet_server, NOW)
    spans = await ledger(quiet_server)
    assert spans[0].lower <= NOW - 30 * DAY < spans[0].upper
    assert spans[-1].upper >= NOW + 14 * DAY
    assert all(a.upper == b.lower for a, b in itertools.pairwise(spans))
    assert await children(quiet_server) == {s.name for s in spans} | {"readings_default"}
    await run_job(quiet_server, NOW)  # a second round finds nothing to do
    assert await ledger(quiet_server) == spans


async def test_rows_in_the_default_partition_move_into_their_new_partition(
    quiet_server: LiveServer,
) -> None:
    live = quiet_server
    await run_job(live, NOW)
    (device,) = await provision(live.client, await admin_token(live.services), batch="parts")
    later = NOW + 40 * DAY  # the job "was down" for weeks: no partition for this yet
    await write(live, device["device_id"], later, NOW - DAY)
    assert await partition_of(live, device["device_id"], later) == "readings_default"
    await run_job(live, later)
    assert (
        await partition_of(live, device["device_id"], later)
        == partitions.aligned(later, 7 * DAY).name
    )
    assert await live.services.pool.fetchval("SELECT count(*) FROM readings_default") == 0
    # Still one reading per key: a retry after the move is a duplicate.
    writer: IngestWriter = live.services.ingest
    batch = ValidatedBatch(total=1, indexes=[0], sensor_types=[1], timestamps=[later])
    batch.values.append(20.0)
    batch.sensor_ids.append(None)
    assert await writer.submit(UUID(device["device_id"]), batch) == 1


async def test_retention_drops_whole_old_partitions_and_old_rollups(
    quiet_server: LiveServer,
) -> None:
    live = quiet_server
    await run_job(live, NOW)
    (device,) = await provision(live.client, await admin_token(live.services), batch="parts")
    old, recent = NOW - 20 * DAY, NOW - DAY
    await write(live, device["device_id"], old, recent)
    await rollup.materialize(live.services.pool)  # both hours are past: recomputed now
    before = await ledger(live)
    future = NOW + 60 * DAY  # `old`'s whole partition is now past the 60-day retention
    await run_job(live, future)
    after = await ledger(live)
    cutoff = future - 60 * DAY
    assert all(s.upper > cutoff for s in after)
    dropped = {s.name for s in before} - {s.name for s in after}
    assert partitions.aligned(old, 7 * DAY).name in dropped
    assert dropped.isdisjoint(await children(live))
    rows = await live.services.pool.fetch(
        "SELECT ts FROM readings WHERE device_id = $1", UUID(device["device_id"])
    )
    assert [r["ts"] for r in rows] == [recent]
    buckets = await live.services.pool.fetch(
        "SELECT bucket FROM readings_hourly WHERE device_id = $1", UUID(device["device_id"])
    )
    assert [b["bucket"] for b in buckets] == [recent.replace(minute=0)]


async def test_a_new_partition_width_fills_only_the_gaps(quiet_server: LiveServer) -> None:
    await run_job(quiet_server, NOW)
    weekly = await ledger(quiet_server)
    await run_job(quiet_server, NOW + 30 * DAY, partition_days=1)
    spans = await ledger(quiet_server)
    assert {s.name for s in weekly} <= {s.name for s in spans}
    ordered = sorted(spans, key=lambda s: s.lower)
    assert all(a.upper <= b.lower for a, b in itertools.pairwise(ordered))
    assert any(s.upper - s.lower == DAY for s in spans)


async def test_the_worker_runs_the_storage_job_at_start(
    fresh_database_url: str, tmp_path: Path
) -> None:
    async with live_server(make_settings(fresh_database_url, tmp_path)) as live:
        for _ in range(100):
            if len(await children(live)) > 1:
                break
            await asyncio.sleep(0.05)
        now = datetime.now(UTC)
        spans = await ledger(live)
        assert spans, "the storage job created no partition"
        assert spans[0].lower <= now - timedelta(days=90)
        assert spans[-1].upper > now + timedelta(days=7)
