"""A firmware store that is down or lost an object: 503 + Retry-After, nothing half-written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.ota.conftest import Ota, ota_settings
from tests.integration.ota.helpers import device_keys, new_model, publish, upload
from tests.support.errors import assert_error
from tests.support.factories import admin_token, bearer
from tests.support.server import free_port, live_server


async def test_a_lost_object_is_503_not_a_short_image(ota: Ota) -> None:
    client, token, model = ota.client, ota.token, new_model()
    [key] = await device_keys(client, token, model, "a")
    await publish(client, token, model, "1.0.0", ["a"], b"image bytes")
    async with ota.server.services.pool.acquire() as conn:
        blob_key = await conn.fetchval("SELECT blob_key FROM firmware WHERE model = $1", model)
    await ota.server.services.blob_store.delete(blob_key)
    response = await client.get("/v1/ota/download/1.0.0", headers=bearer(key))
    assert_error(response, 503, "unavailable")
    assert response.headers["Retry-After"]


@pytest.mark.s3
async def test_upload_to_an_unreachable_store_is_503(
    fresh_database_url: str, tmp_path: Path, s3_endpoint: str
) -> None:
    # `s3_endpoint` only for the credentials it puts in the environment: the store is elsewhere.
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings = ota_settings(
        fresh_database_url,
        tmp_path,
        blob_url="s3://nowhere/firmware",
        s3_endpoint_url=dead,
        run_worker=False,
    )
    async with live_server(settings) as server:
        token, model = await admin_token(server.services), new_model()
        response = await upload(server.client, token, model, "1.0.0", b"x" * 1000)
        assert_error(response, 503, "unavailable")
        assert response.headers["Retry-After"]
        listed = await server.client.get(
            "/admin/v1/firmware", params={"model": model}, headers=bearer(token)
        )
        assert listed.json()["firmware"] == []
