"""Releases: creation rules, per-status counts, pause/resume/cancel, automatic pause."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.ota.conftest import Ota
from tests.integration.ota.helpers import (
    check,
    device_keys,
    new_model,
    publish,
    release,
    report,
    upload,
)
from tests.support.errors import assert_error
from tests.support.factories import bearer


async def get_release(client: httpx.AsyncClient, token: str, release_id: str) -> dict[str, Any]:
    response = await client.get(f"/admin/v1/releases/{release_id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create_release(ota: Ota) -> None:
    client, token, model = ota.client, ota.token, new_model()
    await device_keys(client, token, model, "a", count=3)
    assert (await upload(client, token, model, "1.0.0", b"image")).status_code == 201
    created = await release(client, token, model, "1.0.0", ["a", "b", "a"], threshold=35)
    assert created["state"] == "active"
    assert created["batches"] == ["a", "b"]
    assert created["failure_threshold_percent"] == 35
    assert created["pause_reason"] is None
    assert created["devices_targeted"] == 3
    assert created["devices_not_started"] == 3
    assert created["failure_rate_percent"] is None
    # The answer's members, in order (the service returns a typed object now: the shape stays).
    assert list(created) == [
        "release_id", "model", "version", "batches", "selector", "percentage", "state",
        "pause_reason", "auto_paused", "failure_threshold_percent", "min_finished",
        "status_counts", "stuck", "devices_targeted", "devices_not_started", "finished",
        "failed_including_stuck", "failure_rate_percent", "evaluated_since", "created_at",
        "updated_at",
    ]  # fmt: skip
    assert list(created["status_counts"]) == [
        "downloading", "downloaded", "verifying", "applying", "completed", "failed"
    ]  # fmt: skip
    assert await get_release(client, token, created["release_id"]) == created


async def test_release_errors(ota: Ota) -> None:
    client, token, model = ota.client, ota.token, new_model()
    url = f"/admin/v1/firmware/{model}/1.0.0/releases"
    response = await client.post(url, json={"batches": ["a"]}, headers=bearer(token))
    assert_error(response, 404, "not_found")
    assert (await upload(client, token, model, "1.0.0", b"image")).status_code == 201
    for body in (
        {"batches": []},
        {},
        {"batches": ["a"], "failure_threshold_percent": 101},
        {"batches": ["a"], "extra": 1},
    ):
        assert_error(
            await client.post(url, json=body, headers=bearer(token)), 422, "validation_error"
        )
    await release(client, token, model, "1.0.0", ["a", "b"])
    response = await client.post(url, json={"batches": ["b", "c"]}, headers=bearer(token))
    assert_error(response, 409, "release_exists")
    await release(client, token, model, "1.0.0", ["c"])  # no overlap: fine
    for path in (
        "/admin/v1/releases/not-a-uuid",
        "/admin/v1/releases/" + "0" * 8 + "-0000-0000-0000-" + "0" * 12,
    ):
        assert_error(await client.get(path, headers=bearer(token)), 404, "not_found")


async def test_pause_resume_cancel(ota: Ota) -> None:
    client, token, model = ota.client, ota.token, new_model()
    created = await publish(client, token, model, "1.0.0", ["a"])
    base = f"/admin/v1/firmware/{model}/1.0.0/releases/{created['release_id']}"
    paused = (await client.post(f"{base}/pause", headers=bearer(token))).json()
    assert (paused["state"], paused["auto_paused"]) == ("paused", False)
    assert paused["pause_reason"]
    assert (await client.post(f"{base}/pause", headers=bearer(token))).json()["state"] == "paused"
    resumed = (await client.post(f"{base}/resume", headers=bearer(token))).json()
    assert (resumed["state"], resumed["pause_reason"]) == ("active", None)
    # The path must name the release's own image.
    wrong = f"/admin/v1/firmware/{model}/9.9.9/releases/{created['release_id']}/pause"
    assert_error(await client.post(wrong, headers=bearer(token)), 404, "not_found")
    cancelled = (await client.post(f"{base}/cancel", headers=bearer(token))).json()
    assert cancelled["state"] == "cancelled"
    assert_error(
        await client.post(f"{base}/resume", headers=bearer(token)), 409, "release_cancelled"
    )


async def test_counts_use_each_devices_latest_status(ota: Ota) -> None:
    client, token, model = ota.client, ota.token, new_model()
    keys = await device_keys(client, token, model, "a", count=4)
    created = await publish(client, token, model, "1.0.0", ["a"])
    await report(client, keys[0], "1.0.0", "downloading", progress_percent=10)
    await report(client, keys[0], "1.0.0", "downloading", progress_percent=90)
    await report(client, keys[1], "1.0.0", "downloading")
    await report(client, keys[1], "1.0.0", "applying")
    await report(client, keys[2], "1.0.0", "failed", error_message="Checksum mismatch")
    await report(client, keys[2], "1.0.0", "completed")  # retried and succeeded
    body = await get_release(client, token, created["release_id"])
    assert body["status_counts"] == {
        "downloading": 1, "downloaded": 0, "verifying": 0, "applying": 1,
        "completed": 1, "failed": 0,
    }  # fmt: skip
    assert (body["devices_not_started"], body["finished"], body["failure_rate_percent"]) == (
        1,
        1,
        0,
    )


async def test_auto_pause_above_the_default_threshold(ota: Ota) -> None:
    client, token, model = ota.client, ota.token, new_model()
    keys = await device_keys(client, token, model, "a", count=7)
    created = await publish(client, token, model, "1.0.0", ["a"])
    for key in keys[:4]:
        await report(client, key, "1.0.0", "completed")
    await report(client, keys[4], "1.0.0", "failed")
    body = await get_release(client, token, created["release_id"])
    # 1 of 5 finished = 20 %: at the threshold, not above it.
    assert (body["state"], body["failure_rate_percent"]) == ("active", 20)
    await report(client, keys[5], "1.0.0", "failed")
    body = await get_release(client, token, created["release_id"])
    assert (body["state"], body["auto_paused"]) == ("paused", True)
    assert "2 of 6" in body["pause_reason"]
    assert (await check(client, keys[6], "0.9.0")) == {"update_available": False}
    assert_error(
        await client.get("/v1/ota/download/1.0.0", headers=bearer(keys[6])), 404, "not_found"
    )


async def test_auto_pause_waits_for_enough_finished_devices(ota: Ota) -> None:
    client, token, model = ota.client, ota.token, new_model()
    keys = await device_keys(client, token, model, "a", count=5)
    created = await publish(client, token, model, "1.0.0", ["a"])
    for key in keys[:4]:
        await report(client, key, "1.0.0", "failed")
    assert (await get_release(client, token, created["release_id"]))["state"] == "active"
    await report(client, keys[4], "1.0.0", "failed")
    assert (await get_release(client, token, created["release_id"]))["state"] == "paused"


async def test_custom_threshold_and_resume_starts_a_new_count(ota: Ota) -> None:
    client, token, model = ota.client, ota.token, new_model()
    keys = await device_keys(client, token, model, "a", count=12)
    assert (await upload(client, token, model, "1.0.0", b"image")).status_code == 201
    created = await release(client, token, model, "1.0.0", ["a"], threshold=50)
    for key in keys[:3]:
        await report(client, key, "1.0.0", "completed")
    for key in keys[3:6]:
        await report(client, key, "1.0.0", "failed")
    body = await get_release(client, token, created["release_id"])
    assert body["state"] == "active"  # 3 of 6 = 50 %, not above 50 %
    await report(client, keys[6], "1.0.0", "failed")
    body = await get_release(client, token, created["release_id"])
    assert body["state"] == "paused"
    base = f"/admin/v1/firmware/{model}/1.0.0/releases/{created['release_id']}"
    assert (await client.post(f"{base}/resume", headers=bearer(token))).status_code == 200
    # The failures that paused it do not pause it again at once...
    await report(client, keys[7], "1.0.0", "completed")
    assert (await get_release(client, token, created["release_id"]))["state"] == "active"
    # ...but enough new failures do.
    for key in keys[8:12]:
        await report(client, key, "1.0.0", "failed")
    body = await get_release(client, token, created["release_id"])
    assert (body["state"], body["auto_paused"]) == ("paused", True)
    assert "4 of 5" in body["pause_reason"]


async def test_other_batches_do_not_count(ota: Ota) -> None:
    client, token, model = ota.client, ota.token, new_model()
    inside = await device_keys(client, token, model, "a", count=1)
    outside = await device_keys(client, token, model, "z", count=6)
    created = await publish(client, token, model, "1.0.0", ["a"])
    for key in outside:  # devices not in the release (e.g. flashed by hand) failing
        await report(client, key, "1.0.0", "failed")
    await report(client, inside[0], "1.0.0", "completed")
    body = await get_release(client, token, created["release_id"])
    assert (body["state"], body["finished"]) == ("active", 1)


async def test_list_releases_newest_first_with_filters_and_pages(ota: Ota) -> None:
    client, token, model = ota.client, ota.token, new_model()
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        assert (await upload(client, token, model, version, b"image")).status_code == 201
    created = [await release(client, token, model, v, ["a"]) for v in ("1.0.0", "1.1.0", "1.2.0")]
    paused = await client.post(
        f"/admin/v1/firmware/{model}/1.1.0/releases/{created[1]['release_id']}/pause",
        headers=bearer(token),
    )
    assert paused.status_code == 200

    async def listed(**params: Any) -> dict[str, Any]:
        response = await client.get("/admin/v1/releases", params=params, headers=bearer(token))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    everything = await listed(model=model)
    assert [r["version"] for r in everything["releases"]] == ["1.2.0", "1.1.0", "1.0.0"]
    assert everything["next_cursor"] is None
    # Each entry is the same document as the single read.
    assert everything["releases"][0] == await get_release(client, token, created[2]["release_id"])

    first = await listed(model=model, limit=2)
    assert [r["version"] for r in first["releases"]] == ["1.2.0", "1.1.0"]
    rest = await listed(model=model, limit=2, cursor=first["next_cursor"])
    assert [r["version"] for r in rest["releases"]] == ["1.0.0"]
    assert rest["next_cursor"] is None

    only_paused = await listed(model=model, state="paused")
    assert [r["release_id"] for r in only_paused["releases"]] == [created[1]["release_id"]]

    response = await client.get(
        "/admin/v1/releases", params={"cursor": "nope"}, headers=bearer(token)
    )
    assert_error(response, 422, "validation_error")
    response = await client.get(
        "/admin/v1/releases", params={"state": "gone"}, headers=bearer(token)
    )
    assert_error(response, 422, "validation_error")
