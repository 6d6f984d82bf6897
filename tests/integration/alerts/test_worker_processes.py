"""Real `climasense worker` processes: killed with SIGKILL mid-batch, and two at once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from climasense.alerts import service as alerts_service
from climasense.alerts.schemas import RuleCreate
from climasense.audit import LOCAL_CLI
from climasense.db.pool import create_pool
from climasense.webhooks import service as webhooks_service
from tests.support.alerts import wait_for
from tests.support.factories import provision_in_database
from tests.support.readings import store_readings
from tests.support.server import free_port
from tests.support.workers import start_worker, stopping

pytestmark = pytest.mark.slow

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


@pytest.fixture
async def pool(fresh_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(fresh_database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


async def provision(pool: asyncpg.Pool, count: int) -> list[str]:
    return [str(d.device_id) for d in await provision_in_database(pool, count, batch="w")]


async def hot_rule(pool: asyncpg.Pool) -> str:
    rule = await alerts_service.create_rule(
        pool,
        RuleCreate(
            name="hot",
            kind="threshold",
            sensor_type="temperature",
            op=">",
            threshold=30.0,
            for_seconds=0,
            severity="warning",
        ),
        operator=LOCAL_CLI,
    )
    return str(rule.rule_id)


async def send(pool: asyncpg.Pool, device: str, seconds: int, value: float) -> None:
    await store_readings(pool, device, [("temperature", T0 + timedelta(seconds=seconds), value)])


async def outbox_empty(pool: asyncpg.Pool) -> bool:
    return await pool.fetchval("SELECT count(*) FROM alert_outbox") == 0


async def alerts_by_device(pool: asyncpg.Pool, rule_id: str) -> dict[str, list[Any]]:
    rows = await pool.fetch(
        """SELECT device_id::text, state, opened_at, resolved_at, value FROM alerts
           WHERE rule_id = $1::uuid ORDER BY opened_at""",
        rule_id,
    )
    found: dict[str, list[Any]] = {}
    for row in rows:
        found.setdefault(row["device_id"], []).append(row)
    return found


def kill9(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


async def test_worker_killed_mid_batch_loses_and_repeats_nothing(
    pool: asyncpg.Pool, fresh_database_url: str, tmp_path: Path
) -> None:
    rule = await hot_rule(pool)
    # A webhook makes every batch that opens alerts write deliveries, which this test can block:
    # the worker is then provably inside its transaction when it is killed.
    await webhooks_service.create_webhook(
        pool,
        f"http://127.0.0.1:{free_port()}/gone",
        "0123456789abcdef",
        allow_private_networks=True,
        operator=LOCAL_CLI,
    )
    first, second = await provision(pool, 100), await provision(pool, 100)
    worker = start_worker(fresh_database_url, tmp_path, CLIMASENSE_ALERT_BATCH_SIZE="50")
    with stopping(worker):
        for device in first:
            await send(pool, device, 0, 35)
        await wait_for(lambda: outbox_empty(pool), timeout=60)

        async with pool.acquire() as blocker:
            blocking = blocker.transaction()
            await blocking.start()
            await blocker.execute("LOCK TABLE webhook_deliveries IN EXCLUSIVE MODE")
            for new, old in zip(second, first, strict=True):
                await send(pool, new, 0, 35)  # opens an alert
                await send(pool, old, 60, 36)  # repeats
                await send(pool, old, 120, 37)

            async def blocked_backend() -> Any:
                return await pool.fetchval(
                    """SELECT pid FROM pg_stat_activity
                       WHERE wait_event_type = 'Lock' AND query LIKE '%webhook_deliveries%'
                         AND datname = current_database()"""
                )

            backend = await wait_for(blocked_backend, timeout=30)
            kill9(worker)
            await blocking.rollback()

        async def backend_gone() -> bool:
            return not await pool.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", backend
            )

        await wait_for(backend_gone, timeout=30)
        # Nothing of the killed batch committed: every second-phase reading is still queued.
        assert await pool.fetchval("SELECT count(*) FROM alert_outbox") == 300
        assert await pool.fetchval("SELECT count(*) FROM alerts") == 100

        restarted = start_worker(fresh_database_url, tmp_path)
        with stopping(restarted):
            await wait_for(lambda: outbox_empty(pool), timeout=60)

    found = await alerts_by_device(pool, rule)
    assert set(found) == set(first) | set(second)
    for device, alerts in found.items():
        assert len(alerts) == 1, device
        assert alerts[0]["state"] == "open"
        assert alerts[0]["opened_at"] == T0
        assert alerts[0]["value"] == (37 if device in first else 35)
    last = await pool.fetch(
        "SELECT subject_id::text, last_ts FROM alert_series WHERE rule_id = $1::uuid", rule
    )
    assert {r["subject_id"]: r["last_ts"] for r in last} == {
        **{d: T0 + timedelta(seconds=120) for d in first},
        **dict.fromkeys(second, T0),
    }
    opened_events = await pool.fetch(
        "SELECT alert_id FROM webhook_deliveries WHERE event_type = 'alert.opened'"
    )
    assert len(opened_events) == len({r["alert_id"] for r in opened_events}) == 200


async def test_two_workers_split_the_shards_and_never_duplicate(
    pool: asyncpg.Pool, fresh_database_url: str, tmp_path: Path
) -> None:
    rule = await hot_rule(pool)
    devices = await provision(pool, 150)
    env = {"CLIMASENSE_ALERT_BATCH_SIZE": "20"}
    one = start_worker(fresh_database_url, tmp_path, **env)
    with stopping(one):
        two: subprocess.Popen[bytes] | None = None
        for i, device in enumerate(devices):
            await send(pool, device, 0, 35)
            if i == 50:  # the second worker joins mid-stream and takes over shards
                two = start_worker(fresh_database_url, tmp_path, **env)
        assert two is not None
        with stopping(two):
            await wait_for(lambda: outbox_empty(pool), timeout=60)
            for device in devices:
                await send(pool, device, 60, 20)
            await wait_for(lambda: outbox_empty(pool), timeout=60)
            for device in devices:
                await send(pool, device, 120, 38)
            await wait_for(lambda: outbox_empty(pool), timeout=60)

            async def both_hold_shards() -> bool:
                holders = await pool.fetchval(
                    """SELECT count(DISTINCT pid) FROM pg_locks
                       WHERE locktype = 'advisory' AND classid = $1 AND objsubid = 2
                         AND granted AND database = (SELECT oid FROM pg_database
                                                     WHERE datname = current_database())""",
                    0x616C7274,
                )
                return bool(holders == 2)

            await wait_for(both_hold_shards, timeout=30)

    found = await alerts_by_device(pool, rule)
    assert set(found) == set(devices)
    for device, alerts in found.items():
        assert [a["state"] for a in alerts] == ["resolved", "open"], device
        assert alerts[0]["opened_at"] == T0
        assert alerts[0]["resolved_at"] == T0 + timedelta(seconds=60)
        assert alerts[1]["opened_at"] == T0 + timedelta(seconds=120)
    await asyncio.sleep(0)
