"""Per-device limits over real HTTP: the IETF headers, the 429 body, an honest Retry-After,
and what does not consume a device's quota."""

from __future__ import annotations

import asyncio
from pathlib import Path

import http_sf
import httpx

from climasense.auth.keys import KeyKind, generate_key
from climasense.settings import RateLimit, Settings
from tests.conftest import make_settings
from tests.support.factories import admin_token, bearer, provision
from tests.support.server import LiveServer, live_server


def limits_with(**overrides: RateLimit) -> dict[str, RateLimit]:
    return {**Settings().rate_limits, **overrides}


def parsed(response: httpx.Response, field: str) -> tuple[str, dict[str, object]]:
    """The single member of a RateLimit(-Policy) field, by an RFC 9651 parser."""
    members = http_sf.parse(response.headers[field].encode(), tltype="list")
    assert len(members) == 1
    name, params = members[0]
    assert isinstance(name, str)
    assert not isinstance(name, http_sf.Token)  # a policy name is an sf-string, quoted
    return name, params


async def device_key(server: LiveServer, token: str) -> str:
    key: str = (await provision(server.client, token))[0]["api_key"]
    return key


async def test_headers_follow_the_structured_field_syntax(server: LiveServer, token: str) -> None:
    key = await device_key(server, token)
    for expected_remaining in (9, 8):
        response = await server.client.get("/v1/settings", headers=bearer(key))
        assert response.status_code == 200
        assert parsed(response, "RateLimit-Policy") == ("settings_get", {"q": 10, "w": 60})
        name, params = parsed(response, "RateLimit")
        assert name == "settings_get"
        assert params["r"] == expected_remaining
        assert isinstance(params["t"], int)
        assert 0 < params["t"] <= 60


async def test_over_the_limit_is_429_with_the_contract_body(server: LiveServer, token: str) -> None:
    key = await device_key(server, token)
    statuses = [
        (await server.client.get("/v1/settings", headers=bearer(key))).status_code
        for _ in range(10)
    ]
    assert statuses == [200] * 10
    refused = await server.client.get("/v1/settings", headers=bearer(key))
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == "rate_limited"
    assert body["details"] == []
    retry_after = refused.headers["Retry-After"]
    assert retry_after.isdigit()
    assert 1 <= int(retry_after) <= 60
    assert f"retry in {retry_after} s" in body["message"]
    assert "GET /v1/settings" in body["message"]
    assert parsed(refused, "RateLimit")[1] == {"r": 0, "t": int(retry_after)}
    assert parsed(refused, "RateLimit-Policy")[1] == {"q": 10, "w": 60}


async def test_one_device_exhausting_its_quota_leaves_others_alone(
    server: LiveServer, token: str
) -> None:
    greedy, quiet = (d["api_key"] for d in await provision(server.client, token, count=2))
    for _ in range(12):
        await server.client.get("/v1/settings", headers=bearer(greedy))
    response = await server.client.get("/v1/settings", headers=bearer(quiet))
    assert response.status_code == 200
    assert parsed(response, "RateLimit")[1]["r"] == 9


async def test_401s_do_not_consume_quota(server: LiveServer, token: str) -> None:
    key = await device_key(server, token)
    await server.client.get("/v1/settings", headers=bearer(key))
    # The key with its last character changed (to "x", or "y" when it already ends in "x":
    # one key in 62 does, and then "x" would be the key itself).
    tampered = key[:-1] + ("y" if key.endswith("x") else "x")
    for bad in (generate_key(KeyKind.DEVICE), tampered, "nonsense"):
        response = await server.client.get("/v1/settings", headers=bearer(bad))
        assert response.status_code == 401
        assert "RateLimit" not in response.headers
    response = await server.client.get("/v1/settings", headers=bearer(key))
    assert parsed(response, "RateLimit")[1]["r"] == 8


async def test_retry_after_is_honest_in_real_time(database_url: str, tmp_path: Path) -> None:
    """Refused requests (429) don't count either: retrying right after Retry-After works."""
    settings = make_settings(
        database_url, tmp_path, rate_limits=limits_with(settings_get=RateLimit(2, 2))
    )
    async with live_server(settings) as server:
        key = await device_key(server, await admin_token(server.services))
        get = lambda: server.client.get("/v1/settings", headers=bearer(key))  # noqa: E731
        assert [(await get()).status_code for _ in range(2)] == [200, 200]
        refused = await get()
        assert refused.status_code == 429
        for _ in range(5):
            assert (await get()).status_code == 429
        await asyncio.sleep(int(refused.headers["Retry-After"]))
        assert (await get()).status_code == 200


async def test_operator_api_and_unmatched_paths_spend_no_device_quota(
    database_url: str, tmp_path: Path
) -> None:
    """Per-device limits are for device endpoints alone: an operator's requests and a path the
    device API does not have are never refused by one (benches drive them on the defaults)."""
    one = RateLimit(1, 60)
    settings = make_settings(
        database_url, tmp_path, rate_limits=limits_with(default=one, settings_get=one)
    )
    async with live_server(settings) as server:
        token = await admin_token(server.services)
        key = await device_key(server, token)
        for _ in range(5):
            for path, expected in (("/admin/v1/devices?limit=1", 200), ("/admin/v1/nope", 404)):
                response = await server.client.get(path, headers=bearer(token))
                assert response.status_code == expected
                assert "RateLimit" not in response.headers
            assert (await server.client.get("/v1/nope", headers=bearer(key))).status_code == 404
        response = await server.client.get("/v1/settings", headers=bearer(key))
        assert response.status_code == 200
        assert parsed(response, "RateLimit")[1]["r"] == 0
