"""Tags, labels, movable batches and bulk tagging (CONTRACT §11), real server and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.errors import assert_error
from tests.support.factories import bearer, provision
from tests.support.server import LiveServer


def unique() -> str:
    """The session's database is shared: each test keeps to its own batches and tags."""
    return "u" + uuid.uuid4().hex[:10]


async def patch_device(server: LiveServer, token: str, device_id: str, body: dict[str, Any]) -> Any:
    return await server.client.patch(
        f"/admin/v1/devices/{device_id}", json=body, headers=bearer(token)
    )


async def list_ids(server: LiveServer, token: str, params: Any) -> list[str]:
    response = await server.client.get("/admin/v1/devices", params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    return [d["device_id"] for d in response.json()["devices"]]


async def test_patch_sets_tags_label_and_batch(server: LiveServer, token: str) -> None:
    [device] = await provision(server.client, token)
    response = await patch_device(
        server,
        token,
        device["device_id"],
        {"tags": ["fleet:north", "canary", "canary"], "label": "Sea Breeze", "batch": "b-2"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tags"] == ["canary", "fleet:north"]
    assert body["label"] == "Sea Breeze"
    assert body["batch"] == "b-2"
    detail = await server.client.get(
        f"/admin/v1/devices/{device['device_id']}", headers=bearer(token)
    )
    assert detail.json()["tags"] == ["canary", "fleet:north"]
    # Only the fields sent change; label null clears it.
    response = await patch_device(server, token, device["device_id"], {"label": None})
    assert response.json()["label"] is None
    assert response.json()["tags"] == ["canary", "fleet:north"]
    assert response.json()["batch"] == "b-2"


@pytest.mark.parametrize(
    "body",
    [
        {"tags": ["Upper"]},
        {"tags": ["ok", "-leading-dash"]},
        {"tags": ["x" * 64]},
        {"tags": [f"t{i}" for i in range(33)]},
        {"tags": ["ok"], "label": "x" * 101},
        {"tags": ["ok"], "batch": "no spaces"},
        {"tags": ["ok"], "colour": "red"},
    ],
)
async def test_bad_tag_is_refused_and_nothing_changes(
    server: LiveServer, token: str, body: dict[str, Any]
) -> None:
    [device] = await provision(server.client, token)
    await patch_device(server, token, device["device_id"], {"tags": ["before"], "label": "B"})
    assert_error(
        await patch_device(server, token, device["device_id"], body), 422, "validation_error"
    )
    detail = await server.client.get(
        f"/admin/v1/devices/{device['device_id']}", headers=bearer(token)
    )
    assert detail.json()["tags"] == ["before"]
    assert detail.json()["label"] == "B"
    assert detail.json()["batch"] == "batch-a"


async def test_unknown_device_is_404(server: LiveServer, token: str) -> None:
    response = await patch_device(
        server, token, "00000000-0000-0000-0000-000000000000", {"label": "x"}
    )
    assert_error(response, 404, "not_found")


async def test_list_filters_by_every_tag_and_by_label(server: LiveServer, token: str) -> None:
    x, y, beta = unique() + "x", unique() + "y", unique()
    a, b, c = await provision(server.client, token, count=3)
    await patch_device(server, token, a["device_id"], {"tags": [x, y], "label": "Alpha"})
    await patch_device(server, token, b["device_id"], {"tags": [x], "label": beta})
    await patch_device(server, token, c["device_id"], {"tags": [y]})
    assert await list_ids(server, token, [("tag", x)]) == [a["device_id"], b["device_id"]]
    assert await list_ids(server, token, [("tag", x), ("tag", y)]) == [a["device_id"]]
    assert await list_ids(server, token, {"label": beta}) == [b["device_id"]]
    listed = await server.client.get("/admin/v1/devices", params={"tag": x}, headers=bearer(token))
    by_id = {d["device_id"]: d for d in listed.json()["devices"]}
    assert by_id[a["device_id"]]["tags"] == sorted([x, y])
    assert by_id[a["device_id"]]["label"] == "Alpha"


async def test_bulk_tags_by_selector(server: LiveServer, token: str) -> None:
    n, boat, canary, done, picked = (unique() for _ in range(5))
    north = await provision(server.client, token, batch=n, count=3)
    south = await provision(server.client, token, batch=unique(), count=2)
    response = await server.client.post(
        "/admin/v1/devices/tags",
        json={"selector": {"batch": n}, "add": [boat, canary]},
        headers=bearer(token),
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"matched": 3}
    assert set(await list_ids(server, token, {"tag": boat})) == {d["device_id"] for d in north}
    response = await server.client.post(
        "/admin/v1/devices/tags",
        json={"selector": {"tags_any": [canary]}, "remove": [canary], "add": [done]},
        headers=bearer(token),
    )
    assert response.json() == {"matched": 3}
    assert await list_ids(server, token, {"tag": canary}) == []
    ids = [south[0]["device_id"], north[0]["device_id"]]
    response = await server.client.post(
        "/admin/v1/devices/tags",
        json={"selector": {"device_ids": ids, "tags_all": [boat, done]}, "add": [picked]},
        headers=bearer(token),
    )
    assert response.json() == {"matched": 1}
    assert await list_ids(server, token, {"tag": picked}) == [north[0]["device_id"]]


@pytest.mark.parametrize(
    "body",
    [
        {"selector": {}, "add": ["x"]},
        {"selector": {"tags_all": []}, "add": ["x"]},
        {"selector": {"batch": "north"}, "add": ["Bad Tag"]},
        {"selector": {"tags_any": ["Bad"]}, "add": ["x"]},
        {"selector": {"batch": "north"}},
    ],
)
async def test_bulk_tags_refuses_empty_selector_and_bad_tags(
    server: LiveServer, token: str, body: dict[str, Any]
) -> None:
    await provision(server.client, token, batch="north", count=2)
    response = await server.client.post("/admin/v1/devices/tags", json=body, headers=bearer(token))
    assert_error(response, 422, "validation_error")
    assert await list_ids(server, token, {"tag": "x"}) == []  # no test adds "x"


async def test_bulk_tags_over_32_changes_nothing(server: LiveServer, token: str) -> None:
    batch, extra = unique(), unique()
    a, _ = await provision(server.client, token, batch=batch, count=2)
    await patch_device(server, token, a["device_id"], {"tags": [f"t{i}" for i in range(32)]})
    response = await server.client.post(
        "/admin/v1/devices/tags",
        json={"selector": {"batch": batch}, "add": [extra]},
        headers=bearer(token),
    )
    assert_error(response, 422, "validation_error")
    assert await list_ids(server, token, {"tag": extra}) == []
