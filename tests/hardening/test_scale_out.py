"""Scale-out: two API processes (`climasense serve --no-worker`) and one `climasense worker`
sharing PostgreSQL and Redis. Limits are exact across processes, a revocation reaches both
within 5 s, and losing Redis costs exactness of limits, never service."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.hardening.cluster import (
    Process,
    api_process,
    cluster_env,
    operator_token,
    worker_process,
)
from tests.hardening.fleet import alerts_routed
from tests.support import postgres
from tests.support.factories import bearer, provision
from tests.support.redis import RedisProcess, redis_process

pytestmark = [pytest.mark.slow, pytest.mark.redis]

N = 20  # the settings_get limit of this cluster; 3N requests race for it
REVOCATION_SECONDS = 5
WEBHOOK_SECRET = "hardening-webhook-secret-0123456789"


@dataclass
class Cluster:
    redis: RedisProcess
    apis: list[Process]
    clients: list[httpx.AsyncClient]
    worker: Process
    token: str
    database_url: str


@pytest.fixture(scope="module")
async def own_database_url(pg_admin_url: str, template_db: str) -> AsyncIterator[str]:
    """The cluster's database, apart from the session's shared one: the alert test counts every
    alert of its devices and the worker serves every live webhook, and other tests leave
    fleet-wide rules (a second alert per device) and webhooks to unreachable hosts (whose
    attempts the one sender makes beside ours) in the shared database."""
    name = await postgres.create_database(pg_admin_url, template=template_db)
    yield postgres.database_url(pg_admin_url, name)
    await postgres.drop_database(pg_admin_url, name)


@pytest.fixture(scope="module")
async def cluster(
    own_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    """One cluster for the module's tests (each keeps to devices of its own)."""
    database_url = own_database_url
    tmp_path = tmp_path_factory.mktemp("cluster")
    with redis_process() as redis:
        env = cluster_env(
            database_url,
            tmp_path / "data",
            CLIMASENSE_REDIS_URL=redis.url,
            CLIMASENSE_WEBHOOK_ALLOW_PRIVATE_NETWORKS="true",  # the receiver is on loopback
            CLIMASENSE_LIMIT_SETTINGS_GET=str(N),
            CLIMASENSE_LIMIT_SETTINGS_GET_WINDOW="600",  # nothing leaves the window mid-test
        )
        with worker_process({**env, "CLIMASENSE_DATA_DIR": str(tmp_path / "w")}, tmp_path) as w:
            async with (
                api_process(
                    "api-a", {**env, "CLIMASENSE_DATA_DIR": str(tmp_path / "a")}, tmp_path
                ) as a,
                api_process(
                    "api-b", {**env, "CLIMASENSE_DATA_DIR": str(tmp_path / "b")}, tmp_path
                ) as b,
            ):
                limits = httpx.Limits(max_connections=3 * N)
                async with (
                    httpx.AsyncClient(base_url=a.url or "", timeout=30, limits=limits) as ca,
                    httpx.AsyncClient(base_url=b.url or "", timeout=30, limits=limits) as cb,
                ):
                    assert w.popen.poll() is None, w.tail()
                    token = await operator_token(database_url)
                    yield Cluster(redis, [a, b], [ca, cb], w, token, database_url)
                    assert w.popen.poll() is None, w.tail()  # the worker survived it all


async def test_limits_are_exact_across_two_processes(cluster: Cluster) -> None:
    greedy, quiet = await provision(cluster.clients[0], cluster.token, count=2, batch="scale")
    key = bearer(greedy["api_key"])
    for client in cluster.clients:  # one accepted request each: both know the key now
        assert (await client.get("/v1/settings", headers=key)).status_code == 200
    responses = await asyncio.gather(
        *(cluster.clients[i % 2].get("/v1/settings", headers=key) for i in range(3 * N))
    )
    # One run in many answered a 503 here once, cause unknown: the next one says what it was.
    unexpected = [
        f"{r.url.port}: {r.status_code} {r.text}" for r in responses if r.status_code >= 500
    ]
    assert Counter(r.status_code for r in responses) == {200: N - 2, 429: 2 * N + 2}, "\n".join(
        [*unexpected, *(f"--- {p.name}\n{p.tail()}" for p in cluster.apis)]
    )
    # Each process refused some: both enforced the one shared count.
    assert {r.url.port for r in responses if r.status_code == 429} == {
        httpx.URL(p.url or "").port for p in cluster.apis
    }
    assert all(r.headers["Retry-After"].isdigit() for r in responses if r.status_code == 429)
    for client in cluster.clients:  # another key is not affected, on either process
        assert (
            await client.get("/v1/settings", headers=bearer(quiet["api_key"]))
        ).status_code == 200


async def test_revocation_reaches_both_processes_within_5_seconds(cluster: Cluster) -> None:
    [device] = await provision(cluster.clients[0], cluster.token, batch="scale-revoke")
    key = bearer(device["api_key"])
    for client in cluster.clients:  # both hold the key in their credential caches
        assert (await client.get("/v1/commands/pending", headers=key)).status_code == 200
    revoked = await cluster.clients[1].post(
        f"/admin/v1/devices/{device['device_id']}/revoke", headers=bearer(cluster.token)
    )
    assert revoked.status_code == 200
    start = time.monotonic()
    refused_after: dict[int, float] = {}
    while len(refused_after) < 2 and time.monotonic() - start < 2 * REVOCATION_SECONDS:
        for index, client in enumerate(cluster.clients):
            if index not in refused_after:
                answer = await client.get("/v1/commands/pending", headers=key)
                if answer.status_code == 401:
                    refused_after[index] = time.monotonic() - start
        await asyncio.sleep(0.05)
    assert sorted(refused_after) == [0, 1], refused_after
    assert max(refused_after.values()) <= REVOCATION_SECONDS, refused_after
    print(f"revocation seen by both processes after {max(refused_after.values()):.2f} s")


async def test_redis_killed_both_processes_keep_serving(cluster: Cluster) -> None:
    devices = await provision(cluster.clients[0], cluster.token, count=4, batch="scale-redis")
    keys = [bearer(d["api_key"]) for d in devices]

    async def traffic() -> Counter[int]:
        answers = await asyncio.gather(
            *(
                cluster.clients[i % 2].get("/v1/commands/pending", headers=keys[i % len(keys)])
                for i in range(40)
            )
        )
        return Counter(r.status_code for r in answers)

    assert await traffic() == {200: 40}
    cluster.redis.kill()
    during = await traffic()
    cluster.redis.start()
    await asyncio.sleep(1.5)  # the limiters' reconnect back-off
    after = await traffic()
    # While Redis is away each process limits on its own (with this cluster's limits, out of
    # reach here): every request is still served, none fails.
    assert during == {200: 40}, during
    assert after == {200: 40}, after
    for process in cluster.apis:
        assert process.popen.poll() is None, process.tail()


async def alerts_of(
    client: httpx.AsyncClient, token: str, device_ids: set[str]
) -> dict[str, list[dict[str, Any]]]:
    found = {}
    for device_id in device_ids:
        answer = await client.get(
            "/admin/v1/alerts", params={"device_id": device_id}, headers=bearer(token)
        )
        assert answer.status_code == 200, answer.text
        found[device_id] = answer.json()["alerts"]
    return found


@pytest.mark.skipif(not alerts_routed(), reason="the alert API is not merged yet")
async def test_alerts_are_not_duplicated(cluster: Cluster) -> None:
    """Readings arrive through both API processes, each batch twice (a retry through the
    other process); the separate worker evaluates them. Each episode opens one alert and
    resolves it, and each webhook event is delivered once.

    The phases wait for the worker in between: an episode that is already over when the
    evaluator first sees it is never announced (docs/api.md, alerts), by design."""
    from tests.support.deliveries import report, slowest_seconds
    from tests.support.receiver import receiver

    batch = f"scale-alerts-{secrets.token_hex(3)}"
    devices = await provision(cluster.clients[0], cluster.token, count=4, batch=batch)
    ids = {d["device_id"] for d in devices}
    admin = bearer(cluster.token)
    client = cluster.clients[0]
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    # (readings, then: alerts per device, how many resolved) — > 50 opens, <= 50 resolves.
    phases = [([60.0, 61.0], 1, 0), ([30.0, 31.0], 1, 1), ([70.0, 71.0], 2, 1), ([20.0], 2, 2)]
    sent = 0

    async def send(device: dict[str, Any], values: list[float], first_minute: int) -> int:
        key = bearer(device["api_key"])
        count = 0
        for i, value in enumerate(values):
            ts = (base + timedelta(minutes=first_minute + i)).isoformat().replace("+00:00", "Z")
            body = {"readings": [{"sensor_type": "temperature", "value": value, "timestamp": ts}]}
            for attempt in (i % 2, (i + 1) % 2):  # a first try, then a retry elsewhere
                answer = await cluster.clients[attempt].post(
                    "/v1/telemetry", json=body, headers=key
                )
                assert answer.status_code == 202, answer.text
                count += 1
        return count

    async with receiver() as hook:
        webhook = await client.post(
            "/admin/v1/webhooks", json={"url": hook.url, "secret": WEBHOOK_SECRET}, headers=admin
        )
        assert webhook.status_code == 201, webhook.text
        rule = await client.post(
            "/admin/v1/alert-rules",
            json={
                "name": "hot",
                "sensor_type": "temperature",
                "op": ">",
                "threshold": 50,
                "severity": "warning",
                "batch": batch,
            },
            headers=admin,
        )
        assert rule.status_code == 201, rule.text

        async def why(what: str) -> str:
            return f"{what}\n" + await report(
                client,
                cluster.token,
                webhook.json()["webhook_id"],
                cluster.database_url,
                hook,
                cluster.worker.tail(),
            )

        try:
            minute = 0
            for values, total, resolved in phases:
                counts = await asyncio.gather(*(send(d, values, minute) for d in devices))
                sent += sum(counts)
                minute += len(values)
                deadline = time.monotonic() + 20
                while True:
                    alerts = await alerts_of(client, cluster.token, ids)
                    if all(
                        len(a) == total and sum(x["state"] == "resolved" for x in a) == resolved
                        for a in alerts.values()
                    ):
                        break
                    if time.monotonic() > deadline:
                        raise AssertionError(await why(f"phase {values}: {alerts}"))
                    await asyncio.sleep(0.1)

            def ours() -> list[dict[str, Any]]:
                events = [json.loads(r.body) for r in hook.requests]
                return [e for e in events if e["alert"]["device_id"] in ids]

            deadline = time.monotonic() + 20
            while len(ours()) < 4 * len(ids):
                if time.monotonic() > deadline:
                    raise AssertionError(await why(f"{len(ours())} of {4 * len(ids)} events"))
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)  # anything duplicated would have arrived by now
            events = ours()
            alerts = await alerts_of(client, cluster.token, ids)
            slowest = await slowest_seconds(client, cluster.token, webhook.json()["webhook_id"])
        finally:
            await client.delete(f"/admin/v1/alert-rules/{rule.json()['rule_id']}", headers=admin)
            await client.delete(f"/admin/v1/webhooks/{webhook.json()['webhook_id']}", headers=admin)

    for device_alerts in alerts.values():
        assert sorted(a["value"] for a in device_alerts) == [61.0, 71.0]
        assert {a["state"] for a in device_alerts} == {"resolved"}
    deliveries = Counter((e["alert"]["alert_id"], e["type"]) for e in events)
    assert set(deliveries.values()) == {1}, deliveries
    assert Counter(e["type"] for e in events) == {
        "alert.opened": 2 * len(ids),
        "alert.resolved": 2 * len(ids),
    }
    for request in hook.requests:
        digest = hmac.new(WEBHOOK_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers["x-climasense-signature"] == f"sha256={digest}"
    print(
        f"alerts: {sent} telemetry requests (each batch twice, through both processes) -> "
        f"{2 * len(ids)} alerts, {len(events)} webhook events, none duplicated "
        f"(the slowest delivered {slowest:.2f} s after it was queued)"
    )
