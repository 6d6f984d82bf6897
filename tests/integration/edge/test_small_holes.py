"""Smaller holes (issue 15 item 7): a revoked Zigbee sensor cannot report through its hub,
firmware model names match whole strings, and the security headers of CONTRACT §8."""

from __future__ import annotations

from tests.integration.hub.test_hub_telemetry import _at, paired_hub, reading, stored, submit
from tests.support.factories import bearer
from tests.support.server import LiveServer


async def test_a_revoked_sensor_cannot_report_through_its_hub(
    server: LiveServer, token: str
) -> None:
    hub, [sensor] = await paired_hub(server, token)
    revoked = await server.client.post(
        f"/admin/v1/devices/{sensor['device_id']}/revoke", headers=bearer(token)
    )
    assert revoked.status_code == 200, revoked.text
    body = await submit(server, hub["api_key"], [reading(4.0, _at(20), sensor["device_id"])])
    assert (body["accepted"], body["rejected"]) == (0, 1), body
    assert "not registered to this hub" in str(body["errors"])
    assert await stored(server, sensor["device_id"]) == []


async def test_firmware_models_match_whole_strings(server: LiveServer, token: str) -> None:
    for model, version in (
        ("CS-100%0A", "7.7.7"),
        ("CS-100", "7.7.7%0A"),
        ("CS-100", "%D9%A3.1.1"),
    ):
        response = await server.client.put(
            f"/admin/v1/firmware/{model}/{version}",
            content=b"\x00" * 16,
            headers={**bearer(token), "Content-Type": "application/octet-stream"},
        )
        assert response.status_code == 422, (model, version, response.text)


async def test_security_headers(server: LiveServer, token: str) -> None:
    docs = await server.client.get("/docs")
    assert docs.status_code == 200
    assert "default-src 'self'" in docs.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
    assert "'unsafe-inline'" not in docs.headers["content-security-policy"].split("style-src")[0]
    assert docs.headers["x-frame-options"] == "DENY"
    provisioned = await server.client.post(
        "/admin/v1/devices",
        json={"kind": "standalone", "model": "CS-100", "batch": "hdr", "count": 1},
        headers=bearer(token),
    )
    assert provisioned.status_code == 201
    assert provisioned.headers["cache-control"] == "no-store"
    [device] = provisioned.json()["devices"]
    rotated = await server.client.post(
        f"/admin/v1/devices/{device['device_id']}/rotate-key", headers=bearer(token)
    )
    assert rotated.headers["cache-control"] == "no-store"
    answers = [
        provisioned,
        rotated,
        docs,
        await server.client.get("/v1/settings", headers=bearer(device["api_key"])),
        await server.client.get("/v1/settings"),
        await server.client.get("/v1/nothing-here", headers=bearer(device["api_key"])),
        await server.client.post(
            "/v1/telemetry", json={"readings": []}, headers=bearer(device["api_key"])
        ),
        await server.client.get("/admin/v1/devices", headers=bearer(token)),
        await server.client.get("/admin/v1/nothing-here", headers=bearer(token)),
        await server.client.get("/openapi.json"),
        await server.client.get("/sign-in"),
    ]
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff", answer.url


async def test_times_that_do_not_exist_in_utc_are_refused(server: LiveServer, token: str) -> None:
    # Year 1 at +00:01 is year 0 in UTC, which neither Python nor PostgreSQL can hold: a 422 on
    # the field, not a 500 from the driver (found by the property test of every list).
    from tests.support.factories import provision

    [device] = await provision(server.client, token, batch="utc-range")
    unstorable = "0001-01-01T00:00:00+00:01"
    answers = [
        await server.client.get(
            f"/admin/v1/devices/{device['device_id']}/telemetry",
            params={"from": unstorable},
            headers=bearer(token),
        ),
        await server.client.get(
            "/admin/v1/audit", params={"to": unstorable}, headers=bearer(token)
        ),
        await server.client.post(
            "/admin/v1/tokens",
            json={"name": "old", "role": "viewer", "expires_at": unstorable},
            headers=bearer(token),
        ),
    ]
    for answer in answers:
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"] == "validation_error"
