"""The failed-auth throttle per client address: guesses are cut off at the limit, valid keys
don't count, and a device the process already knows is not locked out by its neighbours."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

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


async def test_an_address_over_the_limit_is_refused_before_any_lookup(
    guarded: LiveServer,
) -> None:
    assert [await guess(guarded) for _ in range(LIMIT)] == [401] * LIMIT
    refused = await guarded.client.get("/v1/settings", headers=bearer(generate_key(KeyKind.DEVICE)))
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert refused.json()["details"] == []
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Policy"] == f'"failed_auth";q={LIMIT};w=60'
    # Malformed keys are failed attempts too.
    assert (await guarded.client.get("/v1/settings", headers=bearer("x"))).status_code == 429


async def test_a_known_device_behind_the_same_address_is_not_locked_out(
    guarded: LiveServer,
) -> None:
    token = await admin_token(guarded.services)
    known, unknown = (d["api_key"] for d in await provision(guarded.client, token, count=2))
    assert (await guarded.client.get("/v1/settings", headers=bearer(known))).status_code == 200
    for _ in range(LIMIT + 3):
        await guess(guarded)
    assert await guess(guarded) == 429
    # Already in this process's credential cache: still served.
    for _ in range(3):
        response = await guarded.client.get("/v1/settings", headers=bearer(known))
        assert response.status_code == 200
    # A key this process has not seen would need a lookup: the address must wait.
    response = await guarded.client.get("/v1/settings", headers=bearer(unknown))
    assert response.status_code == 429


async def test_valid_keys_do_not_count_as_failures(guarded: LiveServer) -> None:
    token = await admin_token(guarded.services)
    keys = [d["api_key"] for d in await provision(guarded.client, token, count=LIMIT * 2)]
    # Each is looked up once (not yet cached): twice the limit of lookups, none failed.
    for key in keys:
        assert (await guarded.client.get("/v1/settings", headers=bearer(key))).status_code == 200
    assert [await guess(guarded) for _ in range(LIMIT)] == [401] * LIMIT
    assert await guess(guarded) == 429


async def test_forwarded_for_is_used_only_when_trusted(database_url: str, tmp_path: Path) -> None:
    for trusted in (False, True):
        settings = make_settings(
            database_url,
            tmp_path / str(trusted),
            failed_auth_limit=RateLimit(LIMIT, 60),
            trust_forwarded_for=trusted,
        )
        async with live_server(settings) as server:
            first = {"X-Forwarded-For": "203.0.113.7, 10.0.0.1"}
            assert [await guess(server, first) for _ in range(LIMIT)] == [401] * LIMIT
            assert await guess(server, first) == 429
            other = {"X-Forwarded-For": "198.51.100.9"}
            # Trusted: another client. Untrusted: the header is ignored, same address.
            assert await guess(server, other) == (401 if trusted else 429)


async def test_the_operator_api_is_throttled_too(guarded: LiveServer) -> None:
    bad = bearer(generate_key(KeyKind.ADMIN))
    statuses = [
        (await guarded.client.get("/admin/v1/devices", headers=bad)).status_code
        for _ in range(LIMIT + 1)
    ]
    assert statuses == [401] * LIMIT + [429]
    token = await admin_token(guarded.services)
    # A token this process has not cached yet waits as well; the cache is what exempts.
    assert (await guarded.client.get("/admin/v1/devices", headers=bearer(token))).status_code == 429
