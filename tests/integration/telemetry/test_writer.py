"""The group-commit writer: coalescing, answering after commit, back-pressure, failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from climasense.errors import Unavailable
from climasense.telemetry import writer as writer_module
from climasense.telemetry.validation import ValidatedBatch
from climasense.telemetry.writer import IngestWriter
from tests.conftest import make_settings
from tests.support.factories import admin_token, provision
from tests.support.server import LiveServer, live_server
from tests.support.tcp_proxy import TcpProxy
from tests.support.telemetry import minutes_ago, outbox, post_batch, reading, stored


def batch_of(count: int, *, minutes: int = 1) -> ValidatedBatch:
    now = datetime.now(UTC).replace(microsecond=0)
    batch = ValidatedBatch(total=count)
    for i in range(count):
        batch.indexes.append(i)
        batch.sensor_types.append(1)
        batch.timestamps.append(now - timedelta(minutes=minutes, seconds=i))
        batch.values.append(20.0 + i)
        batch.sensor_ids.append(None)
    return batch


@pytest.fixture
async def slow_writer(server: LiveServer) -> AsyncIterator[IngestWriter]:
    """A writer of our own on the test server's pool that waits 100 ms to gather a group."""
    writer = IngestWriter(server.services.pool, engine="partitioned", max_wait=0.1)
    task = asyncio.create_task(writer.run())
    yield writer
    task.cancel()
    await writer.close()


async def test_concurrent_submissions_share_one_commit(
    server: LiveServer, token: str, slow_writer: IngestWriter
) -> None:
    devices = await provision(server.client, token, count=20, batch="telemetry")
    results = await asyncio.gather(
        *(slow_writer.submit(UUID(d["device_id"]), batch_of(5)) for d in devices)
    )
    assert results == [0] * 20
    assert slow_writer.commits == 1
    assert slow_writer.pending_readings == 0
    for d in devices:
        assert len(await stored(server.services, d["device_id"])) == 5


async def test_requests_arriving_during_a_commit_go_next_without_waiting(
    server: LiveServer, token: str
) -> None:
    """Self-clocking: only a writer waking from idle waits max_wait (here 3 s); the requests
    that queued while a commit was in flight are committed the moment it ends, together."""
    devices = await provision(server.client, token, count=6, batch="telemetry")
    first, *later = [UUID(d["device_id"]) for d in devices]
    writer = IngestWriter(server.services.pool, engine="partitioned", max_wait=3.0)
    task = asyncio.create_task(writer.run())
    blocker = await server.services.pool.acquire()
    try:
        # Hold the first device's row: the first commit blocks on it (last_seen_at update).
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("SELECT 1 FROM devices WHERE device_id = $1 FOR UPDATE", first)
        first_answer = asyncio.create_task(writer.submit(first, batch_of(3)))
        for _ in range(1000):  # the idle wait (3 s) ends and the first commit goes out
            if _in_flight(writer):
                break
            await asyncio.sleep(0.01)
        assert _in_flight(writer)
        later_answers = [asyncio.create_task(writer.submit(d, batch_of(2))) for d in later]
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        released = loop.time()
        await transaction.rollback()
        assert await first_answer == 0
        assert await asyncio.gather(*later_answers) == [0] * len(later)
        assert loop.time() - released < 1.5  # no second 3 s wait
        assert writer.commits == 2  # the five later requests shared one commit
    finally:
        await server.services.pool.release(blocker)
        task.cancel()
        await writer.close()


def _in_flight(writer: IngestWriter) -> bool:
    return writer.pending_readings > 0 and not writer._queue


async def test_a_failing_request_does_not_fail_its_neighbours(
    server: LiveServer, token: str, slow_writer: IngestWriter
) -> None:
    good, bad = await provision(server.client, token, count=2, batch="telemetry")
    # A reading the database refuses: a sensor type code outside `smallint` (validation never
    # lets one through; the writer does not check again).
    refused = batch_of(3)
    refused.sensor_types[1] = 40_000
    outcomes = await asyncio.gather(
        slow_writer.submit(UUID(good["device_id"]), batch_of(3)),
        slow_writer.submit(UUID(bad["device_id"]), refused),
        return_exceptions=True,
    )
    assert outcomes[0] == 0
    assert isinstance(outcomes[1], Exception)
    assert len(await stored(server.services, good["device_id"])) == 3
    assert await stored(server.services, bad["device_id"]) == []


async def test_a_group_with_a_stored_reading_is_written_again_with_the_full_statement(
    server: LiveServer, token: str, slow_writer: IngestWriter
) -> None:
    """Groups go out with the new-readings-only statement (no ON CONFLICT) until one holds a
    reading stored already: that attempt is rolled back whole, the group is written with the
    full statement (stored readings skipped and reported, the rest stored once, the outbox fed
    only the new ones), and so are the next `_CHECKED_GROUPS` groups."""
    first, second = await provision(server.client, token, count=2, batch="telemetry")
    retried = batch_of(4)
    assert await slow_writer.submit(UUID(first["device_id"]), retried) == 0
    assert slow_writer.checked_groups_left == 0  # written new-only: nothing was stored

    grown = batch_of(6)  # the same four readings and two older ones
    grown.timestamps = [
        *retried.timestamps,
        *(retried.timestamps[-1] - timedelta(seconds=s) for s in (1, 2)),
    ]
    grown.values = [*retried.values, 1.0, 2.0]
    outcomes = await asyncio.gather(
        slow_writer.submit(UUID(first["device_id"]), grown),
        slow_writer.submit(UUID(second["device_id"]), batch_of(3)),
    )
    assert outcomes == [4, 0]
    assert slow_writer.commits == 2  # one group, one commit (the failed attempt is not one)
    assert slow_writer.checked_groups_left == writer_module._CHECKED_GROUPS - 1
    assert len(await stored(server.services, first["device_id"])) == 6
    assert len(await stored(server.services, second["device_id"])) == 3
    boxes = await outbox(server.services, first["device_id"])
    assert [len(box["timestamps"]) for box in boxes] == [4, 2]
    assert sorted(boxes[1]["timestamps"]) == sorted(grown.timestamps[4:])

    # The full statement for the next groups, then new-only again.
    again = batch_of(1, minutes=9)
    checked = [
        await slow_writer.submit(UUID(second["device_id"]), again)
        for _ in range(writer_module._CHECKED_GROUPS - 1)
    ]
    assert checked == [0] + [1] * (writer_module._CHECKED_GROUPS - 2)
    assert slow_writer.checked_groups_left == 0
    later = batch_of(2, minutes=30)
    assert await slow_writer.submit(UUID(second["device_id"]), later) == 0
    assert slow_writer.checked_groups_left == 0
    assert await slow_writer.submit(UUID(second["device_id"]), later) == 2
    assert slow_writer.checked_groups_left == writer_module._CHECKED_GROUPS - 1


async def test_over_the_pending_limit_is_refused_at_once(server: LiveServer) -> None:
    # No commit loop: everything submitted stays pending, as when the database is slow.
    writer = IngestWriter(server.services.pool, engine="partitioned", max_pending=10)
    waiting = [asyncio.create_task(writer.submit(uuid4(), batch_of(4))) for _ in range(2)]
    await asyncio.sleep(0)
    assert writer.pending_readings == 8
    with pytest.raises(Unavailable) as refused:
        await asyncio.wait_for(writer.submit(uuid4(), batch_of(3)), timeout=1)
    assert refused.value.headers["Retry-After"] == "1"
    await writer.close()  # the queued ones are answered 503, never left hanging
    for task in waiting:
        with pytest.raises(Unavailable):
            await task


async def test_http_requests_are_coalesced_and_answered_after_commit(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, ingest_max_wait_ms=20.0)
    async with live_server(settings) as live:
        token = await admin_token(live.services)
        devices = await provision(live.client, token, count=30, batch="telemetry")
        writer = live.services.ingest
        commits_before = writer.commits

        async def submit_and_check(device: dict[str, Any]) -> None:
            response = await post_batch(
                live.client,
                device["api_key"],
                {
                    "readings": [
                        reading(value=float(i), timestamp=minutes_ago(i)) for i in range(1, 11)
                    ]
                },
            )
            assert response.status_code == 202, response.text
            # Answered only after the commit: another connection sees every reading already.
            assert len(await stored(live.services, device["device_id"])) == 10

        await asyncio.gather(*(submit_and_check(d) for d in devices))
        assert writer.commits - commits_before < len(devices)


async def test_back_pressure_over_http_is_503_with_retry_after(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, ingest_max_pending_readings=5)
    async with live_server(settings) as live:
        token = await admin_token(live.services)
        (device,) = await provision(live.client, token, batch="telemetry")
        many = {"readings": [reading(timestamp=minutes_ago(i)) for i in range(1, 7)]}
        response = await post_batch(live.client, device["api_key"], many)
        assert response.status_code == 503
        assert response.json()["error"] == "unavailable"
        assert int(response.headers["Retry-After"]) >= 1
        assert await stored(live.services, device["device_id"]) == []
        few = {"readings": [reading(timestamp=minutes_ago(i)) for i in range(1, 4)]}
        assert (await post_batch(live.client, device["api_key"], few)).status_code == 202


@pytest.mark.slow
async def test_database_outage_is_503_and_stores_nothing(
    database_url: str, tmp_path: Path, make_device: Callable[..., Any]
) -> None:
    proxy = await TcpProxy.for_url(database_url).start()
    settings = make_settings(proxy.url_through(database_url), tmp_path, run_worker=False)
    try:
        async with live_server(settings) as live:
            token = await admin_token(live.services)
            (device,) = await provision(live.client, token, batch="telemetry")
            key = device["api_key"]
            ok = await post_batch(
                live.client, key, {"readings": [reading(timestamp=minutes_ago(3))]}
            )
            assert ok.status_code == 202

            await proxy.stop()
            lost = {"readings": [reading("humidity", 50, timestamp=minutes_ago(2))]}
            for _ in range(2):  # a dropped connection, then a refused one
                down = await post_batch(live.client, key, lost)
                assert down.status_code == 503, down.text
                assert down.json()["error"] == "unavailable"
                assert int(down.headers["Retry-After"]) >= 1
                assert "asyncpg" not in down.text

            await proxy.start(proxy.port)
            direct = await asyncio.wait_for(_readings_direct(database_url, device["device_id"]), 10)
            assert [r[0] for r in direct] == [1]  # only the reading answered 202
            again = await post_batch(live.client, key, lost)
            assert again.status_code == 202
            assert again.json()["duplicates"] == 0
    finally:
        await proxy.stop()


async def _readings_direct(url: str, device_id: str) -> list[tuple[int, datetime]]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT sensor_type, ts FROM readings WHERE device_id = $1 ORDER BY ts",
            UUID(device_id),
        )
    finally:
        await conn.close()
    return [(r[0], r[1]) for r in rows]
