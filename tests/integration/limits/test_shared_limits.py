"""Limits shared through Redis: two real `climasense serve` processes enforce one device's
limit exactly, and killing Redis mid-traffic costs exactness for a while, never a 5xx."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from climasense.limits.redis import RedisRateLimiter
from climasense.settings import RateLimit, Settings
from tests.conftest import TEST_SECRET, make_settings
from tests.support.factories import admin_token, bearer, provision
from tests.support.redis import redis_process
from tests.support.server import free_port, live_server

pytestmark = [pytest.mark.slow, pytest.mark.redis]

N = 20


@contextmanager
def serve_process(env: dict[str, str], log: Path) -> Iterator[str]:
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "climasense", "serve", "--port", str(port), "--no-worker"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


async def wait_ready(url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=url, timeout=2) as client:
        while time.monotonic() < deadline:
            with suppress(httpx.TransportError):
                if (await client.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    pytest.fail(f"climasense serve at {url} did not start:\n{log.read_text()[-3000:]}")


async def test_two_processes_accept_exactly_n_of_3n_concurrent_requests(
    database_url: str, tmp_path: Path
) -> None:
    with redis_process() as redis:
        # Provision through an in-process server on the same database and secret.
        async with live_server(make_settings(database_url, tmp_path / "setup")) as setup:
            token = await admin_token(setup.services)
            devices = await provision(setup.client, token, count=2)
        greedy, quiet = devices[0]["api_key"], devices[1]["api_key"]
        env = {
            **os.environ,
            "CLIMASENSE_DATABASE_URL": database_url,
            "CLIMASENSE_SECRET_KEY": TEST_SECRET,
            "CLIMASENSE_REDIS_URL": redis.url,
            "CLIMASENSE_DB_POOL_MIN": "1",
            "CLIMASENSE_DB_POOL_MAX": "4",
            "CLIMASENSE_LIMIT_SETTINGS_GET": str(N),
            # Long enough that nothing leaves the window during the test.
            "CLIMASENSE_LIMIT_SETTINGS_GET_WINDOW": "600",
            "CLIMASENSE_LOG_LEVEL": "warning",
        }
        logs = [tmp_path / "serve-a.log", tmp_path / "serve-b.log"]
        with (
            serve_process({**env, "CLIMASENSE_DATA_DIR": str(tmp_path / "a")}, logs[0]) as a,
            serve_process({**env, "CLIMASENSE_DATA_DIR": str(tmp_path / "b")}, logs[1]) as b,
        ):
            await asyncio.gather(wait_ready(a, logs[0]), wait_ready(b, logs[1]))
            limits = httpx.Limits(max_connections=3 * N)
            async with (
                httpx.AsyncClient(base_url=a, timeout=30, limits=limits) as client_a,
                httpx.AsyncClient(base_url=b, timeout=30, limits=limits) as client_b,
            ):
                responses = await asyncio.gather(
                    *(
                        (client_a if i % 2 else client_b).get(
                            "/v1/settings", headers=bearer(greedy)
                        )
                        for i in range(3 * N)
                    )
                )
                statuses = Counter(r.status_code for r in responses)
                assert statuses == {200: N, 429: 2 * N}
                # Each process answered 3N/2 requests: alone, each would have accepted N
                # (2N in all); exactly N in all means they counted against one shared log.
                by_process = Counter(r.url.port for r in responses)
                assert sorted(by_process.values()) == [3 * N // 2, 3 * N // 2]
                assert all(
                    r.headers["Retry-After"].isdigit() for r in responses if r.status_code == 429
                )
                # The other device is untouched, on either process.
                for client in (client_a, client_b):
                    response = await client.get("/v1/settings", headers=bearer(quiet))
                    assert response.status_code == 200


@asynccontextmanager
async def redis_backed_server(
    database_url: str, tmp_path: Path, redis_url: str
) -> AsyncIterator[tuple[str, RedisRateLimiter, httpx.AsyncClient]]:
    limits = {**Settings().rate_limits, "settings_get": RateLimit(5, 600)}
    settings = make_settings(database_url, tmp_path, redis_url=redis_url, rate_limits=limits)
    async with live_server(settings) as server:
        limiter = server.services.rate_limiter
        assert isinstance(limiter, RedisRateLimiter)
        token = await admin_token(server.services)
        key = (await provision(server.client, token))[0]["api_key"]
        yield key, limiter, server.client


async def test_redis_killed_mid_traffic_serves_on_without_5xx(
    database_url: str, tmp_path: Path
) -> None:
    with redis_process() as redis:
        async with redis_backed_server(database_url, tmp_path, redis.url) as (
            key,
            limiter,
            client,
        ):
            get = lambda: client.get("/v1/settings", headers=bearer(key))  # noqa: E731
            assert [(await get()).status_code for _ in range(3)] == [200] * 3
            direct = Redis.from_url(redis.url)
            assert len(await direct.keys("climasense:rl:*:settings_get")) == 1
            await direct.aclose()

            # Kill Redis while requests are in flight.
            outcomes = await asyncio.gather(
                *(get() for _ in range(8)), asyncio.to_thread(redis.kill)
            )
            statuses = [r.status_code for r in outcomes if isinstance(r, httpx.Response)]
            statuses += [(await get()).status_code for _ in range(8)]
            assert set(statuses) <= {200, 429}, statuses
            assert 429 in statuses  # still limited (per process) while Redis is away
            assert not limiter.healthy
            refused = await get()
            assert refused.status_code == 429
            assert "RateLimit" in refused.headers
            assert refused.headers["Retry-After"].isdigit()

            redis.start()
            for _ in range(100):
                if limiter.healthy:
                    break
                await asyncio.sleep(0.1)
            assert limiter.healthy
            # Shared again: the decision is made in the restarted Redis.
            assert (await get()).status_code == 200
            direct = Redis.from_url(redis.url)
            assert len(await direct.keys("climasense:rl:*:settings_get")) == 1
            await direct.aclose()
