"""The failed-auth throttle per client address (CONTRACT §3): only failures count, a valid key
is never refused by it (however many never-seen devices share the address), a stream of bad
keys is cut off at the limit, and the address comes from trusted proxies only (§8)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from climasense.auth.keys import KeyKind, generate_key
from climasense.settings import RateLimit
from tests.conftest import make_settings
from tests.support.factories import admin_token, bearer, provision
from tests.support.server import LiveServer, live_server

LIMIT = 5


@pytest.fixture
async def guarded(database_url: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    settings = make_settings(database_url, tmp_path, failed_auth_limit=RateLimit(LIMIT, 60))
    async with live_server(settings) as server:
        yield server


async def guess(server: LiveServer, headers: dict[str, str] | None = None) -> int:
    headers = {**bearer(generate_key(KeyKind.DEVICE)), **(headers or {})}
    return (await server.client.get("/v1/settings", headers=headers)).status_code


async def test_a_bad_key_stream_is_throttled(guarded: LiveServer) -> None:
    assert [await guess(guarded) for _ in range(LIMIT)] == [401] * LIMIT
    refused = await guarded.client.get("/v1/settings", headers=bearer(generate_key(KeyKind.DEVICE)))
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert refused.json()["details"] == []
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Policy"] == f'"failed_auth";q={LIMIT};w=60'
    t = refused.headers["RateLimit"].rsplit("t=", 1)[1]
    assert t == refused.headers["Retry-After"]
    # Malformed keys are failures too.
    assert (await guarded.client.get("/v1/settings", headers=bearer("x"))).status_code == 429


@pytest.mark.parametrize(
    ("over_first", "count"),
    [(True, 300), (False, 300), pytest.param(True, 1000, marks=pytest.mark.slow)],
)
async def test_never_seen_valid_devices_from_one_address_are_never_throttled(
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    over_first: bool,
    count: int,
) -> None:
    # An hour's window: the whole run stays inside it, however slow the machine.
    settings = make_settings(database_url, tmp_path, failed_auth_limit=RateLimit(LIMIT, 3600))
    async with live_server(settings) as guarded:
        await _never_seen(guarded, capsys, over_first, count)


async def _never_seen(
    guarded: LiveServer, capsys: pytest.CaptureFixture[str], over_first: bool, count: int
) -> None:
    token = await admin_token(guarded.services)
    keys: list[str] = []
    for _ in range(count // 100):
        keys += [d["api_key"] for d in await provision(guarded.client, token, count=100)]
    if over_first:
        # The address is already over its failure limit: bad keys are refused...
        for _ in range(LIMIT):
            await guess(guarded)
        assert await guess(guarded) == 429
    # ...and every valid device this process has never seen is served, all at once.
    guarded.services.credential_cache.clear()

    limits = httpx.Limits(max_connections=50)
    # The server sees at most 50 requests at once either way (the client's connections); the
    # gate keeps the other requests out of httpcore's pool queue, which it scans whole for
    # every request that starts or ends (1,000 queued: ~45 s of the client's own CPU).
    gate = asyncio.Semaphore(50)
    async with httpx.AsyncClient(base_url=guarded.url, timeout=300, limits=limits) as client:

        async def call(key: str) -> int:
            async with gate:
                return (await client.get("/v1/settings", headers=bearer(key))).status_code

        started = time.monotonic()
        statuses = await asyncio.gather(*(call(key) for key in keys))
        elapsed = time.monotonic() - started
    assert statuses.count(429) == 0
    assert statuses == [200] * len(keys)
    with capsys.disabled():
        print(
            f"\n{len(keys)} never-seen valid devices from one address "
            f"({'over its failure limit' if over_first else 'no failures'}): "
            f"{statuses.count(200)} x 200, {statuses.count(429)} x 429 in {elapsed:.1f} s"
        )
    # The bad-key stream from the same address is (still) throttled.
    statuses = [await guess(guarded) for _ in range(LIMIT + 3)]
    assert statuses[-3:] == [429] * 3


async def test_valid_keys_do_not_count_as_failures(guarded: LiveServer) -> None:
    token = await admin_token(guarded.services)
    keys = [d["api_key"] for d in await provision(guarded.client, token, count=LIMIT * 2)]
    for key in keys:
        assert (await guarded.client.get("/v1/settings", headers=bearer(key))).status_code == 200
    assert [await guess(guarded) for _ in range(LIMIT)] == [401] * LIMIT
    assert await guess(guarded) == 429


async def test_forwarded_for_is_read_only_from_trusted_proxies_right_to_left(
    database_url: str, tmp_path: Path
) -> None:
    for trusted in ((), ("127.0.0.1", "10.0.0.0/8")):
        settings = make_settings(
            database_url,
            tmp_path / str(bool(trusted)),
            failed_auth_limit=RateLimit(LIMIT, 60),
            trusted_proxies=trusted,
        )
        async with live_server(settings) as server:
            first = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7, 10.0.0.1"}
            assert [await guess(server, first) for _ in range(LIMIT)] == [401] * LIMIT
            assert await guess(server, first) == 429
            # A client forging the left-most entry does not dodge the throttle.
            forged = {"X-Forwarded-For": "192.0.2.44, 203.0.113.7, 10.0.0.1"}
            assert await guess(server, forged) == 429
            other = {"X-Forwarded-For": "198.51.100.9"}
            # Trusted: another client. Untrusted peer: the header is ignored, same address.
            assert await guess(server, other) == (401 if trusted else 429)


async def test_the_operator_api_is_throttled_too_but_never_a_valid_token(
    guarded: LiveServer,
) -> None:
    bad = bearer(generate_key(KeyKind.ADMIN))
    statuses = [
        (await guarded.client.get("/admin/v1/devices", headers=bad)).status_code
        for _ in range(LIMIT + 1)
    ]
    assert statuses == [401] * LIMIT + [429]
    token = await admin_token(guarded.services)
    # Not cached yet, from a throttled address: served all the same.
    assert (await guarded.client.get("/admin/v1/devices", headers=bearer(token))).status_code == 200


async def test_dashboard_sign_in_counts_only_failures(guarded: LiveServer) -> None:
    import re

    import httpx

    token = await admin_token(guarded.services)

    async def attempt(client: httpx.AsyncClient, value: str) -> int:
        page = await client.get("/sign-in")
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found is not None
        answer = await client.post("/sign-in", data={"csrf_token": found[1], "token": value})
        return answer.status_code

    async with httpx.AsyncClient(base_url=guarded.url, timeout=30) as client:
        assert [await attempt(client, "csa_wrong") for _ in range(LIMIT)] == [401] * LIMIT
        assert await attempt(client, "csa_wrong") == 429
        # A valid token is never refused by the throttle.
        assert await attempt(client, token) == 303
