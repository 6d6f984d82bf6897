"""Every error, on every path, in the contract's shape (CONTRACT §2)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from climasense.db.pool import create_pool
from climasense.http.errors import exception_to_response
from tests.support.errors import assert_error
from tests.support.factories import bearer, provision
from tests.support.server import LiveServer


async def test_unknown_paths_and_methods(server: LiveServer) -> None:
    client = server.client
    assert_error(await client.get("/nope"), 404, "not_found")
    assert_error(await client.get("/v1/nope"), 404, "not_found")
    assert_error(await client.delete("/healthz"), 405, "method_not_allowed")
    assert_error(await client.delete("/v1/settings"), 405, "method_not_allowed")


async def test_admin_validation_errors_name_the_field(server: LiveServer, token: str) -> None:
    response = await server.client.post(
        "/admin/v1/devices",
        json={"kind": "toaster", "model": "m", "batch": "b"},
        headers=bearer(token),
    )
    assert_error(response, 422, "validation_error")
    assert response.json()["details"][0]["field"] == "kind"


async def test_malformed_json_and_nan_are_400(server: LiveServer, token: str) -> None:
    headers = {**bearer(token), "Content-Type": "application/json"}
    for raw in (b"{", b'{"kind": NaN}', b'{"count": Infinity}', b"\xff"):
        response = await server.client.post("/admin/v1/devices", content=raw, headers=headers)
        assert_error(response, 400, "invalid_json")


async def test_non_json_content_type_is_415(server: LiveServer, token: str) -> None:
    response = await server.client.post(
        "/admin/v1/devices",
        content=b"kind=hub",
        headers={**bearer(token), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_error(response, 415, "unsupported_media_type")


async def test_oversized_device_body_is_refused_before_it_is_read(
    server: LiveServer, token: str
) -> None:
    [device] = await provision(server.client, token)
    # Announce 10 MiB and send only the headers: the server must answer without waiting.
    host, port = server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        (
            "GET /v1/settings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {device['api_key']}\r\n"
            f"Content-Length: {10 * 1024 * 1024}\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    reply = (await asyncio.wait_for(reader.read(4096), 5)).decode()
    writer.close()
    assert reply.startswith("HTTP/1.1 413"), reply
    assert '"payload_too_large"' in reply


async def test_device_key_on_admin_and_admin_token_on_device_api(
    server: LiveServer, token: str
) -> None:
    [device] = await provision(server.client, token)
    response = await server.client.get("/admin/v1/devices", headers=bearer(device["api_key"]))
    assert_error(response, 401, "unauthorized")
    response = await server.client.get("/v1/settings", headers=bearer(token))
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["message"] == "Invalid or missing API key"


async def test_missing_malformed_and_unknown_keys_are_401(server: LiveServer) -> None:
    from climasense.auth.keys import KeyKind, generate_key

    for headers in (
        {},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer"},
        bearer("csd_not-a-key"),
        bearer(generate_key(KeyKind.DEVICE)),
    ):
        response = await server.client.get("/v1/settings", headers=headers)
        assert_error(response, 401, "unauthorized")
        assert "ratelimit" not in response.headers


async def test_sensor_key_is_forbidden_on_the_device_api(server: LiveServer, token: str) -> None:
    [sensor] = await provision(server.client, token, kind="zigbee_sensor")
    assert sensor["api_key"].startswith("csz_")
    response = await server.client.get("/v1/settings", headers=bearer(sensor["api_key"]))
    assert_error(response, 403, "forbidden")


async def test_database_outage_is_503_with_retry_after_and_no_internals(
    server: LiveServer, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Terminate every connection of the pool: the next queries fail as if the server died.
    pool = server.services.pool
    await pool.close()
    # A token that is not cached cannot be checked with the database down: 503, never 401/500.
    response = await server.client.get("/admin/v1/devices", headers=bearer(token))
    assert_error(response, 503, "unavailable")
    response = await server.client.get("/healthz")
    assert_error(response, 503, "unavailable")
    assert "Retry-After" in response.headers
    text = response.text.lower()
    for leak in ("traceback", "select", "asyncpg", "postgres"):
        assert leak not in text
    # The operator's log says what failed, as the answer does not.
    logged = [r.getMessage() for r in caplog.records if "dependency failure" in r.getMessage()]
    assert "dependency failure: InterfaceError: pool is closed" in logged, caplog.text


async def test_a_query_on_a_connection_postgresql_just_cut_is_a_503(database_url: str) -> None:
    # After a restart or failover, a pooled connection the server has terminated can be used
    # before asyncpg has seen its socket close. Whatever asyncpg raises then must be a
    # dependency failure (503, retry), never a 500; the next query gets a new connection.
    # What it raises depends on how far the termination has got: the delays sweep that.
    raised: list[Exception] = []
    admin = await asyncpg.connect(database_url)
    try:
        for delay_ms in (0, 1, 1, 2, 2, 3, 5, 8, 13, 21):
            pool = await create_pool(database_url, min_size=1, max_size=1)
            try:
                backend = await pool.fetchval("SELECT pg_backend_pid()")
                await admin.fetchval("SELECT pg_terminate_backend($1)", backend)
                await asyncio.sleep(delay_ms / 1000)
                try:
                    await pool.fetchval("SELECT $1::bytea[] IS NOT NULL", [b"x"])
                except Exception as exc:
                    raised.append(exc)
                assert await pool.fetchval("SELECT 1") == 1
            finally:
                await pool.close()
    finally:
        await admin.close()
    print(f"\nfirst query after the cut raised: {sorted(type(e).__name__ for e in raised)}")
    assert [exception_to_response(e).status_code for e in raised] == [503] * len(raised), raised
