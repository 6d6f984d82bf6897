"""Unknown device keys are looked up together (auth/key_lookups.py), on a real database and
over real HTTP: right answers for each, far fewer queries than keys, and one failed lookup
neither sticks nor takes the others' answers with it."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg

from climasense.auth.key_lookups import DeviceKeyLookups
from climasense.auth.keys import KeyHasher
from climasense.db.pool import create_pool
from climasense.devices.service import ProvisionedDevice
from climasense.http.errors import DEPENDENCY_ERRORS
from tests.support.factories import bearer, provision, provision_in_database
from tests.support.server import LiveServer
from tests.support.workers import TEST_SECRET

HASHER = KeyHasher(TEST_SECRET)


async def devices(pool: asyncpg.Pool, count: int) -> list[ProvisionedDevice]:
    return await provision_in_database(pool, count, batch="lookups")


async def test_concurrent_misses_share_one_query(pool: asyncpg.Pool) -> None:
    fleet = await devices(pool, 40)
    unknown = HASHER.hash("cs_dev_" + secrets.token_hex(16))
    lookups = DeviceKeyLookups(pool)
    hashes = [HASHER.hash(d.api_key) for d in fleet]
    # Every device twice (a device's requests racing each other) and one key nobody has.
    found = await asyncio.gather(*(lookups.find(h) for h in [*hashes, *hashes, unknown]))
    assert lookups.queries == 1
    expected = [d.device_id for d in fleet]
    assert [p.device_id if p else None for p in found] == [*expected, *expected, None]
    assert found[0] is not None
    assert found[0].serial_number == fleet[0].serial_number


async def test_misses_during_a_lookup_wait_for_the_next_one(pool: asyncpg.Pool) -> None:
    fleet = await devices(pool, 30)
    lookups = DeviceKeyLookups(pool)
    first = asyncio.create_task(lookups.find(HASHER.hash(fleet[0].api_key)))
    await asyncio.sleep(0)  # the first lookup is on its way
    rest = [lookups.find(HASHER.hash(d.api_key)) for d in fleet[1:]]
    found = [await first, *await asyncio.gather(*rest)]
    assert [p.device_id for p in found if p] == [d.device_id for d in fleet]
    assert lookups.queries == 2  # the lone first one, then everyone who came meanwhile


async def test_a_cancelled_request_leaves_the_others_their_answer(pool: asyncpg.Pool) -> None:
    fleet = await devices(pool, 3)
    lookups = DeviceKeyLookups(pool)
    waiters = [asyncio.create_task(lookups.find(HASHER.hash(d.api_key))) for d in fleet]
    await asyncio.sleep(0)
    waiters[1].cancel()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert isinstance(results[1], asyncio.CancelledError)
    assert [r.device_id for r in (results[0], results[2])] == [  # type: ignore[union-attr]
        fleet[0].device_id,
        fleet[2].device_id,
    ]


async def test_a_failed_lookup_fails_its_requests_only(database_url: str) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=1)
    blocker = await asyncpg.connect(database_url)
    try:
        [device] = await devices(pool, 1)
        key_hash = HASHER.hash(device.api_key)
        lookups = DeviceKeyLookups(pool)
        backend = await pool.fetchval("SELECT pg_backend_pid()")  # the pool's one connection
        # The lookup waits on a lock; its connection is then cut, as when PostgreSQL restarts.
        locked = blocker.transaction()
        await locked.start()
        await blocker.execute("LOCK TABLE devices IN ACCESS EXCLUSIVE MODE")
        waiting = asyncio.gather(
            lookups.find(key_hash), lookups.find(b"x" * 32), return_exceptions=True
        )
        for _ in range(500):
            if await blocker.fetchval(
                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", backend
            ):
                break
            await asyncio.sleep(0.01)
        await blocker.fetchval("SELECT pg_terminate_backend($1)", backend)
        outcomes = await waiting
        await locked.rollback()
        # Both requests of that lookup fail with an error the app answers 503 (http.errors).
        assert all(isinstance(o, DEPENDENCY_ERRORS) for o in outcomes), outcomes
        # Nothing of the failure stuck: the next lookup (on a new connection) answers.
        found = await lookups.find(key_hash)
        assert found is not None
        assert found.device_id == device.device_id
        assert lookups.queries == 2
    finally:
        await blocker.close()
        await pool.close()


async def test_a_fleet_reconnecting_costs_few_queries(server: LiveServer, token: str) -> None:
    fleet = await provision(server.client, token, count=60, batch="reconnect")
    lookups = server.services.authenticator._device_lookups
    before = lookups.queries
    forged = "cs_dev_" + secrets.token_hex(16)
    answers = await asyncio.gather(
        *(server.client.get("/v1/settings", headers=bearer(d["api_key"])) for d in fleet),
        server.client.get("/v1/settings", headers=bearer(forged)),
    )
    assert [a.status_code for a in answers] == [200] * len(fleet) + [401]
    queries = lookups.queries - before
    # One query per key would be 61; how many share one depends on how the requests arrive.
    assert queries <= len(fleet) // 3, queries
    print(f"\n{len(fleet) + 1} never-seen keys at once: {queries} lookups")
