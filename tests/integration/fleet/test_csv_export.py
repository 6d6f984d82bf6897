"""CSV export (CONTRACT §11): header row, every page, streamed — on a real server."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from climasense import csv_export
from tests.support.errors import assert_error
from tests.support.factories import bearer, provision
from tests.support.readings import store_readings
from tests.support.server import LiveServer

CSV = {"Accept": "text/csv"}


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    # Many cursor batches for a few readings: every "page" must be in the answer.
    monkeypatch.setattr(csv_export, "BATCH_ROWS", 7)


async def test_device_list_as_csv_has_every_page(server: LiveServer, token: str) -> None:
    batch = "u" + uuid.uuid4().hex[:10]
    devices = await provision(server.client, token, batch=batch, count=25)
    await server.client.patch(
        f"/admin/v1/devices/{devices[0]['device_id']}",
        json={"tags": ["a", "b"], "label": 'Boat, "Quoted"'},
        headers=bearer(token),
    )
    response = await server.client.get(
        "/admin/v1/devices", params={"batch": batch, "limit": 5}, headers={**bearer(token), **CSV}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    table = rows(response.text)
    assert table[0][:3] == ["device_id", "serial_number", "kind"]
    assert "tags" in table[0]
    assert "label" in table[0]
    assert [r[0] for r in table[1:]] == [d["device_id"] for d in devices]
    first = dict(zip(table[0], table[1], strict=True))
    assert first["tags"] == "a b"
    assert first["label"] == 'Boat, "Quoted"'
    assert first["online"] == "false"
    # Filters apply; ?format=csv serves links that cannot set Accept.
    link = await server.client.get(
        "/admin/v1/devices",
        params={"batch": batch, "tag": "a", "format": "csv"},
        headers=bearer(token),
    )
    assert [r[0] for r in rows(link.text)[1:]] == [devices[0]["device_id"]]
    # Without the Accept header: JSON pages as before.
    page = await server.client.get(
        "/admin/v1/devices", params={"batch": batch, "limit": 5}, headers=bearer(token)
    )
    assert len(page.json()["devices"]) == 5


async def test_device_telemetry_as_csv_has_the_whole_range(server: LiveServer, token: str) -> None:
    [device] = await provision(server.client, token)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    readings = [("temperature", base + timedelta(seconds=i), 20 + i / 10) for i in range(40)]
    readings += [("humidity", base + timedelta(seconds=i), 50.0) for i in range(0, 40, 4)]
    await store_readings(server.services.pool, device["device_id"], readings)
    url = f"/admin/v1/devices/{device['device_id']}/telemetry"
    response = await server.client.get(url, params={"limit": 3}, headers={**bearer(token), **CSV})
    assert response.status_code == 200, response.text
    table = rows(response.text)
    assert table[0] == ["timestamp", "sensor_type", "sensor_id", "value"]
    assert len(table) == 1 + 50
    # The same readings, in the same order, as walking every JSON page.
    points: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        page = (await server.client.get(url, params=params, headers=bearer(token))).json()
        points += page["points"]
        if not (cursor := page["next_cursor"]):
            break
    assert [(r[1], float(r[3])) for r in table[1:]] == [
        (p["sensor_type"], p["value"]) for p in points
    ]
    assert datetime.fromisoformat(table[1][0]) == base
    only = await server.client.get(
        url,
        params={"sensor_type": "humidity", "from": (base + timedelta(seconds=10)).isoformat()},
        headers={**bearer(token), **CSV},
    )
    assert len(rows(only.text)) == 1 + 7
    missing = await server.client.get(
        f"/admin/v1/devices/{uuid.uuid4()}/telemetry", headers={**bearer(token), **CSV}
    )
    assert_error(missing, 404, "not_found")
    bad = await server.client.get(
        url, params={"from": "yesterday"}, headers={**bearer(token), **CSV}
    )
    assert_error(bad, 422, "validation_error")


async def test_fleet_export_filters_by_batch_tag_and_range(server: LiveServer, token: str) -> None:
    batch, mark = "u" + uuid.uuid4().hex[:10], "t" + uuid.uuid4().hex[:10]
    a, b = await provision(server.client, token, batch=batch, count=2)
    [other] = await provision(server.client, token)
    await server.client.patch(
        f"/admin/v1/devices/{a['device_id']}", json={"tags": [mark]}, headers=bearer(token)
    )
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    for device in (a, b, other):
        await store_readings(
            server.services.pool,
            device["device_id"],
            [("temperature", base + timedelta(seconds=i), 21.0) for i in range(10)],
        )
    url = "/admin/v1/telemetry/export"
    response = await server.client.get(url, params={"batch": batch}, headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    table = rows(response.text)
    assert table[0] == [
        "device_id",
        "serial_number",
        "sensor_id",
        "sensor_type",
        "timestamp",
        "value",
    ]
    assert len(table) == 1 + 20
    assert {r[0] for r in table[1:]} == {a["device_id"], b["device_id"]}
    tagged = rows((await server.client.get(url, params={"tag": mark}, headers=bearer(token))).text)
    assert {r[0] for r in tagged[1:]} == {a["device_id"]}
    assert tagged[1][1] == a["serial_number"]
    ranged = await server.client.get(
        url,
        params={
            "tag": mark,
            "from": (base + timedelta(seconds=5)).isoformat(),
            "to": (base + timedelta(seconds=8)).isoformat(),
        },
        headers=bearer(token),
    )
    assert len(rows(ranged.text)) == 1 + 3
    for params in ({"from": "nope"}, {"sensor_type": "smell"}, {"tag": "Bad Tag"}):
        assert_error(
            await server.client.get(url, params=params, headers=bearer(token)),
            422,
            "validation_error",
        )


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/admin/v1/devices", {"batch": "a\x00b"}),
        ("/admin/v1/devices", {"label": "\x00"}),
        ("/admin/v1/telemetry/export", {"batch": "a\x00b"}),
    ],
)
async def test_a_query_the_database_refuses_is_an_error_answer_not_a_cut_200(
    server: LiveServer, token: str, path: str, params: dict[str, str]
) -> None:
    # The query runs before the response starts: a NUL in a text filter (which PostgreSQL
    # cannot take) is the contract's 422, as on the JSON list, not a 200 with a broken body.
    response = await server.client.get(path, params=params, headers={**bearer(token), **CSV})
    assert_error(response, 422, "validation_error")
    # The connection went back: the pool still serves the next export.
    after = await server.client.get("/admin/v1/devices", headers={**bearer(token), **CSV})
    assert after.status_code == 200
    assert rows(after.text)[0][0] == "device_id"
