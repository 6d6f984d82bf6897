"""The evaluator's series state carried between batches (`SeriesCache`) stays what
`alert_series` holds: a rule change, a failed batch and a change of the shards it owns all
discard it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from climasense.alerts.evaluation import SeriesState
from climasense.alerts.evaluator import RuleSet, SeriesCache, evaluate_batch, rebalance
from climasense.alerts.shards import SHARD_COUNT, ShardLeases
from tests.support.alerts import alerts_of, create_rule
from tests.support.factories import bearer, provision
from tests.support.readings import store_readings
from tests.support.server import LiveServer

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)


class Evaluator:
    """One evaluator's state across batches, as `run_evaluator` keeps it."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool, self.rules, self.series = pool, RuleSet(), SeriesCache()

    async def run(self, conn: asyncpg.Connection | None = None) -> None:
        if conn is None:
            async with self.pool.acquire() as acquired:
                await self.run(acquired)
            return
        while await evaluate_batch(conn, list(range(SHARD_COUNT)), 500, self.rules, self.series):
            pass


async def series_row(pool: asyncpg.Pool, rule_id: str) -> Any:
    return await pool.fetchrow(
        "SELECT last_ts, run_start FROM alert_series WHERE rule_id = $1::uuid", rule_id
    )


async def test_a_rule_change_restarts_the_series_it_cached(
    manual_server: LiveServer, admin: str
) -> None:
    client, pool = manual_server.client, manual_server.services.pool
    [device] = await provision(client, admin)
    device_id = device["device_id"]
    rule = await create_rule(
        client,
        admin,
        sensor_type="iaq",
        op=">",
        threshold=300,
        for_seconds=600,
        device_id=device_id,
    )
    evaluator = Evaluator(pool)
    await store_readings(pool, device_id, [("iaq", T0, 350)])
    await evaluator.run()
    assert (await series_row(pool, rule["rule_id"]))["run_start"] == T0

    response = await client.patch(
        f"/admin/v1/alert-rules/{rule['rule_id']}", json={"threshold": 340}, headers=bearer(admin)
    )
    assert response.status_code == 200, response.text
    later = T0 + timedelta(seconds=660)
    await store_readings(pool, device_id, [("iaq", later, 350)])
    await evaluator.run()

    # Afresh from the first reading after the change: held 0 s, not the 660 s a state
    # computed under the old definition would say.
    assert await alerts_of(client, admin, rule_id=rule["rule_id"]) == []
    assert tuple(await series_row(pool, rule["rule_id"])) == (later, later)


async def test_a_failed_batch_does_not_leave_its_states_behind(
    manual_server: LiveServer, admin: str
) -> None:
    client, pool = manual_server.client, manual_server.services.pool
    [device] = await provision(client, admin)
    device_id = device["device_id"]
    rule = await create_rule(
        client, admin, sensor_type="temperature", op=">", threshold=30, device_id=device_id
    )
    evaluator = Evaluator(pool)
    await store_readings(pool, device_id, [("temperature", T0, 20)])
    await evaluator.run()
    later = T0 + timedelta(seconds=60)
    await store_readings(pool, device_id, [("temperature", later, 35)])

    # The batch evaluates the reading (advancing the cached state), then cannot store it.
    async with pool.acquire() as blocker, pool.acquire() as conn:
        async with blocker.transaction():
            await blocker.execute("LOCK TABLE alert_series IN ACCESS EXCLUSIVE MODE")
            await conn.execute("SET lock_timeout = '200ms'")
            with pytest.raises(asyncpg.LockNotAvailableError):
                await evaluator.run(conn)
        await conn.execute("RESET lock_timeout")
        await evaluator.run(conn)

    [opened] = await alerts_of(client, admin, rule_id=rule["rule_id"])
    assert opened["value"] == 35
    assert (await series_row(pool, rule["rule_id"]))["last_ts"] == later


async def test_subjects_beyond_its_size_are_dropped_and_loaded_again(
    manual_server: LiveServer, admin: str
) -> None:
    client, pool = manual_server.client, manual_server.services.pool
    devices = [d["device_id"] for d in await provision(client, admin, count=3)]
    rule = await create_rule(client, admin, sensor_type="temperature", op=">", threshold=30)
    evaluator = Evaluator(pool)
    evaluator.series.max_subjects = 1
    # Two subjects in one batch (both kept: a batch's own are never dropped), then a third
    # alone (the others dropped), then the first again (loaded from the table).
    rounds = [(devices[:2], 20.0), (devices[2:], 20.0), (devices[:1], 35.0)]
    for seconds, (subjects, value) in enumerate(rounds):
        for device_id in subjects:
            await store_readings(
                pool, device_id, [("temperature", T0 + timedelta(seconds=seconds), value)]
            )
        await evaluator.run()
        assert len(evaluator.series.by_subject) == len(subjects)

    [opened] = await alerts_of(client, admin, rule_id=rule["rule_id"])
    assert opened["opened_at"] == (T0 + timedelta(seconds=2)).isoformat().replace("+00:00", "Z")
    last = await pool.fetch(
        "SELECT subject_id::text, last_ts FROM alert_series WHERE rule_id = $1::uuid",
        rule["rule_id"],
    )
    assert {r["subject_id"]: r["last_ts"] for r in last} == {
        devices[0]: T0 + timedelta(seconds=2),
        devices[1]: T0,
        devices[2]: T0 + timedelta(seconds=1),
    }


async def test_a_change_of_its_shards_discards_the_cache(fresh_database_url: str) -> None:
    """A second evaluator joins: the first gives up half its shards, and with them what it
    cached (a subject of a shard given up may be evaluated elsewhere, then come back)."""
    first_conn = await asyncpg.connect(fresh_database_url)
    second_conn = await asyncpg.connect(fresh_database_url)
    try:
        first, second = ShardLeases(first_conn), ShardLeases(second_conn)
        series = SeriesCache()
        await first.join()
        await rebalance(first, series)
        assert len(first.owned) == SHARD_COUNT
        series.by_subject[uuid4()] = {uuid4(): SeriesState(last_ts=T0, last_value=1.0)}

        await rebalance(first, series)  # nothing changed: the cache stays
        assert len(series.by_subject) == 1

        await second.join()
        await rebalance(first, series)
        assert len(first.owned) == SHARD_COUNT // 2
        assert series.by_subject == {}
    finally:
        await first_conn.close()
        await second_conn.close()
