"""Which due deliveries the sender leases (`repository.claim_due`), on a real database."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg
import pytest

from climasense.db.pool import create_pool
from climasense.webhooks import repository


@pytest.fixture
async def pool(fresh_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(fresh_database_url, min_size=1, max_size=2)
    try:
        yield pool
    finally:
        await pool.close()


async def queue(pool: asyncpg.Pool, count: int, *, age_seconds: float = 0.0) -> UUID:
    """A webhook with `count` due deliveries, due since `age_seconds` ago."""
    webhook = await repository.create_webhook(pool, "https://hooks.example/x", "s" * 20)
    await pool.execute(
        """INSERT INTO webhook_deliveries (webhook_id, alert_id, event_type, alert, next_attempt_at)
           SELECT $1, gen_random_uuid(), 'alert.opened', '{}'::jsonb,
                  now() - make_interval(secs => $3) FROM generate_series(1, $2)""",
        webhook.webhook_id,
        count,
        age_seconds,
    )
    return webhook.webhook_id


async def claim(
    pool: asyncpg.Pool, limit: int, sending: dict[UUID, int] | None = None
) -> Counter[UUID]:
    claimed = await repository.claim_due(
        pool, limit=limit, per_webhook=5, lease_seconds=60, sending=sending
    )
    return Counter(row.webhook_id for row in claimed)


async def test_in_flight_deliveries_count_against_the_endpoints_share(pool: asyncpg.Pool) -> None:
    slow = await queue(pool, 10)
    other = await queue(pool, 10)
    assert await claim(pool, 50, {slow: 3, other: 5}) == {slow: 2}
    assert await claim(pool, 50, {slow: 5}) == {other: 5}
    assert await claim(pool, 50, {uuid.uuid4(): 5}) == {slow: 5, other: 5}


async def test_a_backlog_of_old_retries_does_not_crowd_out_fresh_events(
    pool: asyncpg.Pool,
) -> None:
    # Ten endpoints with older retries due (five each: their full share) and one fresh event:
    # with a slot per endpoint, each gets one — oldest first would give the fresh one none.
    backlog = [await queue(pool, 5, age_seconds=600) for _ in range(10)]
    fresh = await queue(pool, 1)
    assert await claim(pool, 11) == dict.fromkeys([*backlog, fresh], 1)


async def test_the_endpoint_with_the_fewest_in_flight_goes_first(pool: asyncpg.Pool) -> None:
    # Slow endpoints hold every slot but one, with older deliveries due: the slot that frees up
    # goes to the endpoint with nothing in flight, not to the oldest delivery.
    slow = [await queue(pool, 5, age_seconds=600) for _ in range(3)]
    fresh = await queue(pool, 1)
    assert await claim(pool, 1, dict.fromkeys(slow, 4)) == {fresh: 1}
