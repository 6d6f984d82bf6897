"""Targeted and percentage releases (CONTRACT §11): selector, stable percentage, widen only,
never another model — on a real server."""

from __future__ import annotations

import uuid
from typing import Any

from climasense.devices.selectors import rollout_bucket
from tests.integration.ota.conftest import Ota
from tests.integration.ota.helpers import check, new_model, upload
from tests.support.errors import assert_error
from tests.support.factories import bearer, provision


async def create_release(ota: Ota, model: str, version: str, body: dict[str, Any]) -> Any:
    return await ota.client.post(
        f"/admin/v1/firmware/{model}/{version}/releases", json=body, headers=bearer(ota.token)
    )


async def tag(ota: Ota, device_id: str, tags: list[str]) -> None:
    response = await ota.client.patch(
        f"/admin/v1/devices/{device_id}", json={"tags": tags}, headers=bearer(ota.token)
    )
    assert response.status_code == 200, response.text


async def offered(ota: Ota, devices: list[dict[str, Any]]) -> set[str]:
    return {
        d["device_id"]
        for d in devices
        if (await check(ota.client, d["api_key"], "1.0.0"))["update_available"]
    }


async def test_selector_release_reaches_only_matching_devices_of_its_model(ota: Ota) -> None:
    model, other_model = new_model(), new_model()
    canary = "c" + uuid.uuid4().hex[:8]
    mine = await provision(ota.client, ota.token, model=model, batch="sea", count=3)
    others = await provision(ota.client, ota.token, model=other_model, batch="sea", count=2)
    for device in [mine[0], mine[1], *others]:
        await tag(ota, device["device_id"], [canary])
    assert (await upload(ota.client, ota.token, model, "2.0.0", b"fw")).status_code == 201
    response = await create_release(ota, model, "2.0.0", {"selector": {"tags_any": [canary]}})
    assert response.status_code == 201, response.text
    release = response.json()
    assert release["selector"] == {"tags_any": [canary]}
    assert release["percentage"] == 100
    assert release["batches"] == []
    assert release["devices_targeted"] == 2
    # Never another model, though its devices match the selector.
    assert await offered(ota, mine + others) == {mine[0]["device_id"], mine[1]["device_id"]}
    download = await ota.client.get("/v1/ota/download/2.0.0", headers=bearer(others[0]["api_key"]))
    assert download.status_code == 404
    download = await ota.client.get("/v1/ota/download/2.0.0", headers=bearer(mine[2]["api_key"]))
    assert download.status_code == 404
    download = await ota.client.get("/v1/ota/download/2.0.0", headers=bearer(mine[0]["api_key"]))
    assert download.status_code == 200
    # Tagging a device later brings it into the (dynamic) selector.
    await tag(ota, mine[2]["device_id"], [canary])
    assert mine[2]["device_id"] in await offered(ota, mine)


async def test_the_same_devices_for_the_same_percentage_and_widen_only(ota: Ota) -> None:
    model = new_model()
    devices = await provision(ota.client, ota.token, model=model, batch="fleet", count=60)
    assert (await upload(ota.client, ota.token, model, "2.0.0", b"fw")).status_code == 201
    response = await create_release(ota, model, "2.0.0", {"batches": ["fleet"], "percentage": 30})
    assert response.status_code == 201, response.text
    release = response.json()
    expected = {d["device_id"] for d in devices if rollout_bucket(uuid.UUID(d["device_id"])) < 30}
    first = await offered(ota, devices)
    assert first == expected
    assert 0 < len(first) < 60
    assert release["devices_targeted"] == len(expected)
    # Asked again: the same devices.
    assert await offered(ota, devices) == first
    # Another release of another version at the same percentage: the same devices too.
    assert (await upload(ota.client, ota.token, model, "3.0.0", b"fw3")).status_code == 201
    other = await create_release(ota, model, "3.0.0", {"batches": ["fleet"], "percentage": 30})
    assert other.status_code == 201
    chosen3 = {
        d["device_id"]
        for d in devices
        if (await check(ota.client, d["api_key"], "2.5.0"))["update_available"]
    }
    assert chosen3 == first
    # Narrowing is refused and changes nothing.
    url = f"/admin/v1/releases/{release['release_id']}"
    assert_error(
        await ota.client.patch(url, json={"percentage": 10}, headers=bearer(ota.token)),
        422,
        "validation_error",
    )
    assert await offered(ota, devices) >= first
    # Widening keeps every device already offered and adds more.
    widened = await ota.client.patch(url, json={"percentage": 70}, headers=bearer(ota.token))
    assert widened.status_code == 200, widened.text
    assert widened.json()["percentage"] == 70
    second = await offered(ota, devices)
    assert first < second
    assert second == {
        d["device_id"] for d in devices if rollout_bucket(uuid.UUID(d["device_id"])) < 70
    }
    for bad in (0, 101, "50"):
        response = await ota.client.patch(url, json={"percentage": bad}, headers=bearer(ota.token))
        assert_error(response, 422, "validation_error")


async def test_release_refuses_empty_selector_and_bad_percentage(ota: Ota) -> None:
    model = new_model()
    assert (await upload(ota.client, ota.token, model, "2.0.0", b"fw")).status_code == 201
    for body in (
        {"selector": {}},
        {},
        {"batches": ["a"], "percentage": 0},
        {"batches": ["a"], "percentage": 101},
        {"selector": {"tags_all": ["Bad Tag"]}},
    ):
        response = await create_release(ota, model, "2.0.0", body)
        assert_error(response, 422, "validation_error")
    missing = await ota.client.patch(
        f"/admin/v1/releases/{uuid.uuid4()}", json={"percentage": 50}, headers=bearer(ota.token)
    )
    assert_error(missing, 404, "not_found")


async def test_a_device_moved_to_another_batch_is_offered_that_batch_release(ota: Ota) -> None:
    model = new_model()
    [device] = await provision(ota.client, ota.token, model=model, batch="old")
    assert (await upload(ota.client, ota.token, model, "2.0.0", b"fw")).status_code == 201
    response = await create_release(ota, model, "2.0.0", {"batches": ["new"]})
    assert response.status_code == 201
    assert await offered(ota, [device]) == set()
    moved = await ota.client.patch(
        f"/admin/v1/devices/{device['device_id']}", json={"batch": "new"}, headers=bearer(ota.token)
    )
    assert moved.status_code == 200
    assert await offered(ota, [device]) == {device["device_id"]}
