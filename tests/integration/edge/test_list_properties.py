"""Every list parameter of every list, device and operator, driven by hypothesis with hostile
values: tampered and forged cursors, huge and non-ASCII digits, extreme dates and widths.
CONTRACT §4.5: a tampered cursor or an out-of-range parameter is a 422, never a 500.

The operator lists are read from the running app's own OpenAPI document, so a list added
later is driven too. Requests run from a thread (hypothesis is synchronous) against the live
server in the test's event loop."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from climasense.http.protocol_errors import RangeNotSatisfiable
from climasense.ota.ranges import ByteRange, parse_range
from climasense.settings import RateLimit
from tests.conftest import make_settings
from tests.integration.hub.pairing import hub_and_sensors, register
from tests.support.alerts import create_rule
from tests.support.factories import admin_token, bearer, provision
from tests.support.readings import store_readings
from tests.support.server import LiveServer, live_server

EXAMPLES = 120  # per list operation


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


HOSTILE = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.integers(min_value=19, max_value=5000).map(lambda n: "9" * n),
    st.sampled_from(
        [
            "²",
            "٣",
            "0x10",
            "1e400",
            "NaN",
            "-0",
            "999999d",
            "0s",
            "1000000s",
            "9999-12-31T23:59:59Z",
            "0001-01-01T00:00:00Z",
            "0001-01-01T00:00:00+14:00",
            "2020-01-01T00:00:00",
            "\x00",
            "%00",
            "a" * 600,
            _b64(["2020-01-01T00:00:00+00:00", 5]),
            _b64(["9999-12-31T23:59:59+00:00", "x"]),
            _b64(["2020-01-01T00:00:00+00:00", "00000000-0000-0000-0000-000000000000"]),
            base64.urlsafe_b64encode(b"123456789012345678901234").decode(),
            _b64(5) + ".AAAAAAAAAAAAAAAAAAAAAA",
        ]
    ),
    st.builds(
        lambda d: d.isoformat(),
        st.datetimes(
            min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
        ),
    ),
    st.from_regex(r"\A[1-9][0-9]{0,7}[smhd]\Z"),
)


@pytest.fixture
async def seeded(
    database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[LiveServer, dict[str, Any]]]:
    lots = RateLimit(10**9, 60)
    limits = dict.fromkeys(
        ("telemetry", "settings_get", "commands_pending", "ota_check", "ota_download", "default"),
        lots,
    )
    settings = make_settings(database_url, tmp_path, rate_limits=limits)
    async with live_server(settings) as server:
        token = await admin_token(server.services)
        [device] = await provision(server.client, token)
        hub, sensors = await hub_and_sensors(server.client, token, 3)
        for sensor in sensors:
            await register(server.client, hub["api_key"], sensor["api_key"])
        ts = datetime.now(UTC) - timedelta(minutes=5)
        await store_readings(server.services.pool, device["device_id"], [("temperature", ts, 21.5)])
        rule = await create_rule(
            server.client, token, sensor_type="temperature", op=">", threshold=40
        )
        hook = await server.client.post(
            "/admin/v1/webhooks",
            json={"url": "https://hooks.example.invalid/x", "secret": "s" * 20},
            headers=bearer(token),
        )
        ids = {
            "device_id": device["device_id"],
            "webhook_id": hook.json()["webhook_id"],
            "rule_id": rule["rule_id"],
            "model": "CS-100",
            "release_id": "00000000-0000-0000-0000-000000000000",
        }
        yield server, {"token": token, "device": device, "hub": hub, "ids": ids}
        # The database is the session's: a fleet-wide rule and a webhook to a name that does
        # not resolve would open alerts on later tests' devices and send their events nowhere.
        for path in (
            f"/admin/v1/alert-rules/{rule['rule_id']}",
            f"/admin/v1/webhooks/{ids['webhook_id']}",
        ):
            deleted = await server.client.delete(path, headers=bearer(token))
            assert deleted.status_code == 204, deleted.text


def _operator_lists(spec: dict[str, Any]) -> list[tuple[str, list[str], list[str]]]:
    """(path, path parameters, query parameters) of every operator GET with query params."""
    found = []
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        if not path.startswith("/admin/v1/") or get is None:
            continue
        params = get.get("parameters", [])
        query = [p["name"] for p in params if p["in"] == "query"]
        in_path = [p["name"] for p in params if p["in"] == "path"]
        if query:
            found.append((path, in_path, query))
    return found


def _drive(
    base_url: str,
    path: str,
    path_params: list[str],
    query: list[str],
    headers: dict[str, str],
    ids: dict[str, str],
    seen: list[tuple[str, int, str]],
) -> int:
    """Run hypothesis against one list; return how many requests it made."""
    count = 0
    with httpx.Client(base_url=base_url, timeout=30, headers=headers) as client:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(
            values=st.fixed_dictionaries({}, optional=dict.fromkeys(query, HOSTILE)),
            hostile_path=st.booleans(),
            path_value=HOSTILE,
        )
        def run(values: dict[str, str], hostile_path: bool, path_value: str) -> None:
            nonlocal count
            target = path
            for name in path_params:
                value = path_value if hostile_path else ids.get(name, path_value)
                target = target.replace("{" + name + "}", quote(value, safe="") or "x")
            response = client.get(target, params=values)
            count += 1
            if response.status_code >= 500:
                seen.append((target, response.status_code, repr(values)[:300]))
            assert response.status_code < 500, (target, values, response.text[:300])

        run()
    return count


async def test_no_list_parameter_is_a_500(
    seeded: tuple[LiveServer, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    server, data = seeded
    spec = (await server.client.get("/openapi.json")).json()
    lists = _operator_lists(spec)
    assert {p for p, _, _ in lists} >= {
        "/admin/v1/devices",
        "/admin/v1/webhooks",
        "/admin/v1/alert-rules",
        "/admin/v1/alerts",
    }
    admin = bearer(data["token"])
    failures: list[tuple[str, int, str]] = []
    total = 0
    for path, path_params, query in lists:
        total += await asyncio.to_thread(
            _drive, server.url, path, path_params, query, admin, data["ids"], failures
        )
    hub = bearer(data["hub"]["api_key"])
    device = bearer(data["device"]["api_key"])
    device_lists: list[tuple[str, list[str], list[str], dict[str, str]]] = [
        ("/v1/hub/sensors", [], ["cursor"], hub),
        ("/v1/ota/check", [], ["current_version"], device),
        ("/v1/commands/pending", [], ["cursor", "limit"], device),
    ]
    for path, path_params, query, headers in device_lists:
        total += await asyncio.to_thread(
            _drive, server.url, path, path_params, query, headers, data["ids"], failures
        )
    assert failures == []
    with capsys.disabled():
        print(
            f"\nlist properties: {len(lists) + len(device_lists)} lists, "
            f"{total} hostile requests, {len(failures)} answered 5xx"
        )


async def test_a_cursor_not_issued_by_this_api_is_422_on_every_list(
    seeded: tuple[LiveServer, dict[str, Any]],
) -> None:
    server, data = seeded
    forged = _b64(["2020-01-01T00:00:00+00:00", 5])
    cases = [
        ("/v1/hub/sensors", bearer(data["hub"]["api_key"])),
        ("/admin/v1/devices", bearer(data["token"])),
        ("/admin/v1/webhooks", bearer(data["token"])),
        ("/admin/v1/alert-rules", bearer(data["token"])),
        ("/admin/v1/alerts", bearer(data["token"])),
        (f"/admin/v1/devices/{data['ids']['device_id']}/commands", bearer(data["token"])),
        (f"/admin/v1/webhooks/{data['ids']['webhook_id']}/deliveries", bearer(data["token"])),
    ]
    cases.append(("/admin/v1/releases", bearer(data["token"])))
    # A real cursor, issued by another list.
    await provision(server.client, data["token"], count=2)
    page = await server.client.get(
        "/admin/v1/devices", params={"limit": 1}, headers=bearer(data["token"])
    )
    foreign = page.json()["next_cursor"]
    assert foreign
    for path, headers in cases:
        for cursor in (forged, "5", "²", "9" * 24, foreign):
            if path == "/admin/v1/devices" and cursor == foreign:
                continue
            response = await server.client.get(path, params={"cursor": cursor}, headers=headers)
            assert response.status_code == 422, (path, cursor, response.text)
            body = response.json()
            assert body["error"] == "validation_error"
            assert body["details"][0]["field"] == "cursor"


def test_a_huge_range_header_is_416_or_ignored_never_a_500() -> None:
    size = 1000
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=" + "9" * 5000 + "-", size)
    assert parse_range("bytes=0-" + "9" * 5000, size) == ByteRange(0, size - 1)
    assert parse_range("bytes=-" + "9" * 5000, size) == ByteRange(0, size - 1)
    assert parse_range("bytes=²-", size) is None  # not a range: the whole image
