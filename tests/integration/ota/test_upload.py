"""PUT /admin/v1/firmware/{model}/{version}, against each firmware store."""

from __future__ import annotations

import asyncio
import hashlib
import os

from climasense.blobstore.local import LocalBlobStore
from climasense.blobstore.s3 import S3BlobStore
from tests.integration.ota.conftest import Ota
from tests.integration.ota.helpers import new_model, upload
from tests.support.errors import assert_error
from tests.support.factories import bearer


async def test_upload_streams_and_reports_the_checksum(ota_store: Ota) -> None:
    model, data = new_model(), os.urandom(3 * 1024 * 1024 + 17)
    response = await upload(ota_store.client, ota_store.token, model, "1.3.0", data, "Fixes")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["checksum"] == "sha256:" + hashlib.sha256(data).hexdigest()
    assert body["size_bytes"] == len(data)
    assert (body["model"], body["version"], body["release_notes"]) == (model, "1.3.0", "Fixes")
    assert body["created_at"]

    listed = await ota_store.client.get(
        "/admin/v1/firmware", params={"model": model}, headers=bearer(ota_store.token)
    )
    assert listed.status_code == 200
    assert listed.json()["firmware"] == [body]


async def test_versions_are_unique_per_model(ota_store: Ota) -> None:
    client, token, model = ota_store.client, ota_store.token, new_model()
    assert (await upload(client, token, model, "1.0.0", b"one")).status_code == 201
    assert_error(await upload(client, token, model, "1.0.0", b"two"), 409, "firmware_exists")
    # Build metadata does not make another version: semver orders them equally.
    assert_error(await upload(client, token, model, "1.0.0+b.2", b"two"), 409, "firmware_exists")
    # The same version of another model is fine.
    assert (await upload(client, token, new_model(), "1.0.0", b"other")).status_code == 201


async def test_version_must_be_semver(ota_store: Ota) -> None:
    for version in ("1.0", "v1.0.0", "latest", "01.0.0"):
        response = await upload(ota_store.client, ota_store.token, new_model(), version, b"x")
        assert_error(response, 422, "validation_error")
        assert response.json()["details"][0]["field"] == "version"


async def test_bad_bodies(ota_store: Ota) -> None:
    client, token = ota_store.client, ota_store.token
    assert_error(await upload(client, token, new_model(), "1.0.0", b""), 422, "validation_error")
    response = await client.put(
        f"/admin/v1/firmware/{new_model()}/1.0.0",
        content=b"{}",
        headers={**bearer(token), "Content-Type": "application/json"},
    )
    assert_error(response, 415, "unsupported_media_type")
    response = await client.put(f"/admin/v1/firmware/{new_model()}/1.0.0", content=b"x")
    assert_error(response, 401, "unauthorized")


async def stored_objects(ota: Ota) -> set[str]:
    store = ota.server.services.blob_store
    if isinstance(store, LocalBlobStore):
        return {p.name for p in store.root.glob("*.bin")}
    assert isinstance(store, S3BlobStore)
    listed = await store.client.list_objects_v2(Bucket=store.bucket, Prefix=store.prefix)
    return {item["Key"].rsplit("/", 1)[-1] for item in listed.get("Contents", [])}


async def test_racing_uploads_store_one_image(ota_store: Ota) -> None:
    client, token, model = ota_store.client, ota_store.token, new_model()
    before = await stored_objects(ota_store)
    first, second = await asyncio.gather(
        upload(client, token, model, "2.0.0", os.urandom(1 << 20)),
        upload(client, token, model, "2.0.0", os.urandom(1 << 20)),
    )
    assert sorted([first.status_code, second.status_code]) == [201, 409]
    async with ota_store.server.services.pool.acquire() as conn:
        keys = {
            r["blob_key"]
            for r in await conn.fetch("SELECT blob_key FROM firmware WHERE model = $1", model)
        }
    # The loser's object was deleted (or never written): exactly the winner's is new.
    assert await stored_objects(ota_store) - before == keys
