"""GET /v1/ota/check: semver ordering, batch and model isolation, paused releases."""

from __future__ import annotations

import hashlib

from tests.integration.ota.conftest import Ota
from tests.integration.ota.helpers import check, device_keys, new_model, publish, release, upload
from tests.support.errors import assert_error
from tests.support.factories import bearer, provision


async def test_offers_the_highest_semver_above_current(ota: Ota) -> None:
    client, token, model = ota.client, ota.token, new_model()
    [key] = await device_keys(client, token, model, "b1")
    for version in ("1.2.0", "1.9.0", "1.10.0"):
        await publish(client, token, model, version, ["b1"])
    answer = await check(client, key, "1.0.0")
    assert answer == {
        "update_available": True,
        "version": "1.10.0",
        "checksum": "sha256:" + hashlib.sha256(b"fw 1.10.0").hexdigest(),
        "size_bytes": len(b"fw 1.10.0"),
        "release_notes": "",
    }
    assert (await check(client, key, "1.10.0")) == {"update_available": False}
    # Never a downgrade: a device ahead of every release is told nothing.
    assert (await check(client, key, "1.11.0")) == {"update_available": False}
    assert (await check(client, key, "2.0.0-alpha.1")) == {"update_available": False}


async def test_pre_releases(ota: Ota) -> None:
    client, token, model = ota.client, ota.token, new_model()
    [key] = await device_keys(client, token, model, "beta")
    await publish(client, token, model, "2.0.0-rc.1", ["beta"])
    assert (await check(client, key, "1.9.0"))["version"] == "2.0.0-rc.1"
    assert (await check(client, key, "2.0.0-rc.2")) == {"update_available": False}
    await publish(client, token, model, "2.0.0", ["beta"])
    assert (await check(client, key, "2.0.0-rc.1"))["version"] == "2.0.0"


async def test_batch_and_model_isolation(ota: Ota) -> None:
    client, token, model, other_model = ota.client, ota.token, new_model(), new_model()
    [in_batch] = await device_keys(client, token, model, "canary")
    [other_batch] = await device_keys(client, token, model, "fleet")
    [other_model_same_batch] = await device_keys(client, token, other_model, "canary")
    await publish(client, token, model, "1.1.0", ["canary"])
    assert (await check(client, in_batch, "1.0.0"))["version"] == "1.1.0"
    assert (await check(client, other_batch, "1.0.0")) == {"update_available": False}
    assert (await check(client, other_model_same_batch, "1.0.0")) == {"update_available": False}
    # Uploaded but never released: not offered to anyone.
    assert (await upload(client, token, model, "1.2.0", b"x")).status_code == 201
    assert (await check(client, in_batch, "1.0.0"))["version"] == "1.1.0"


async def test_paused_and_cancelled_releases_are_not_offered(ota: Ota) -> None:
    client, token, model = ota.client, ota.token, new_model()
    [key] = await device_keys(client, token, model, "b")
    await publish(client, token, model, "1.1.0", ["b"])
    newest = await publish(client, token, model, "1.2.0", ["b"])
    base = f"/admin/v1/firmware/{model}/1.2.0/releases/{newest['release_id']}"
    assert (await client.post(f"{base}/pause", headers=bearer(token))).status_code == 200
    # The paused version is skipped; the next lower active release is still offered.
    assert (await check(client, key, "1.0.0"))["version"] == "1.1.0"
    assert (await check(client, key, "1.1.0")) == {"update_available": False}
    assert (await client.post(f"{base}/resume", headers=bearer(token))).status_code == 200
    assert (await check(client, key, "1.1.0"))["version"] == "1.2.0"
    assert (await client.post(f"{base}/cancel", headers=bearer(token))).status_code == 200
    assert (await check(client, key, "1.1.0")) == {"update_available": False}
    # A new release of the cancelled version offers it again.
    await release(client, token, model, "1.2.0", ["b"])
    assert (await check(client, key, "1.1.0"))["version"] == "1.2.0"


async def test_current_version_is_required_and_semver(ota: Ota) -> None:
    client, token = ota.client, ota.token
    [key] = await device_keys(client, token, new_model(), "b")
    response = await client.get("/v1/ota/check", headers=bearer(key))
    assert_error(response, 422, "validation_error")
    assert response.json()["details"][0]["field"] == "current_version"
    assert response.headers["RateLimit-Policy"].startswith('"ota_check"')
    for bad in ("", "1.2", "v1.2.3", "latest"):
        response = await client.get(
            "/v1/ota/check", params={"current_version": bad}, headers=bearer(key)
        )
        assert_error(response, 422, "validation_error")


async def test_check_records_the_reported_version(ota: Ota) -> None:
    client, token, model = ota.client, ota.token, new_model()
    [device] = await provision(client, token, model=model, batch="b")
    await check(client, device["api_key"], "1.4.2-rc.1")
    detail = await client.get(f"/admin/v1/devices/{device['device_id']}", headers=bearer(token))
    assert detail.json()["firmware_version"] == "1.4.2-rc.1"
