"""The dashboard over real HTTP: sign-in, sessions, CSRF, pages and live endpoints."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx

from tests.support.alerts import alerts_of, create_rule, wait_for
from tests.support.factories import bearer, provision
from tests.support.readings import store_readings
from tests.support.server import LiveServer


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


@asynccontextmanager
async def signed_in(server: LiveServer, token: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client holding a dashboard session (the way a browser signs in)."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        page = await client.get("/sign-in")
        response = await client.post(
            "/sign-in", data={"csrf_token": _csrf(page.text), "token": token, "next": "/"}
        )
        assert response.status_code == 303, response.text
        yield client


async def test_pages_need_a_session(server: LiveServer) -> None:
    response = await server.client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2F"
    live = await server.client.get("/ui/fleet.json")
    assert live.status_code == 401
    assert live.json()["error"] == "unauthorized"


async def test_sign_in_sets_a_strict_http_only_cookie(server: LiveServer, token: str) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        page = await client.get("/sign-in")
        assert page.status_code == 200
        assert "default-src 'self'" in page.headers["content-security-policy"]
        response = await client.post(
            "/sign-in", data={"csrf_token": _csrf(page.text), "token": token, "next": "/alerts"}
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/alerts"
        cookie = next(
            v
            for v in response.headers.get_list("set-cookie")
            if v.startswith("climasense_session=")
        )
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
        assert "Secure" not in cookie  # plain http on loopback; https adds it


async def test_sign_in_refuses_bad_tokens_and_forged_forms(server: LiveServer, token: str) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        page = await client.get("/sign-in")
        csrf = _csrf(page.text)
        wrong = await client.post("/sign-in", data={"csrf_token": csrf, "token": "csa_nope"})
        assert wrong.status_code == 401
        assert "not a valid admin token" in wrong.text
        assert "climasense_session" not in client.cookies
    async with httpx.AsyncClient(base_url=server.url) as stranger:
        # No sign-in cookie to match: a form posted from elsewhere is refused.
        forged = await stranger.post("/sign-in", data={"csrf_token": csrf, "token": token})
        assert forged.status_code == 403
        assert "climasense_session" not in stranger.cookies


async def test_redirect_after_sign_in_stays_on_this_site(server: LiveServer, token: str) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        page = await client.get("/sign-in")
        response = await client.post(
            "/sign-in",
            data={"csrf_token": _csrf(page.text), "token": token, "next": "//evil.example/x"},
        )
        assert response.headers["location"] == "/"


async def test_fleet_and_device_pages_show_a_provisioned_device(
    server: LiveServer, token: str
) -> None:
    [device] = await provision(server.client, token, batch="web-fleet", model="CS-WEB")
    async with signed_in(server, token) as client:
        fleet = await client.get("/", params={"batch": "web-fleet"})
        assert fleet.status_code == 200
        assert device["serial_number"] in fleet.text
        assert f"/devices/{device['device_id']}" in fleet.text
        live = (await client.get("/ui/fleet.json", params={"batch": "web-fleet"})).json()
        [row] = live["tables"]["fleet"]
        assert row["id"] == device["device_id"]
        assert row["cells"][0]["text"] == device["serial_number"]
        assert int(live["fields"]["count-total"]) >= 1
        page = await client.get(f"/devices/{device['device_id']}")
        assert page.status_code == 200
        assert device["serial_number"] in page.text
        assert 'name="version" value="1"' in page.text
        detail = (await client.get(f"/ui/devices/{device['device_id']}.json")).json()
        assert detail["fields"]["settings-version"] == "1"
        assert detail["fields"]["device-state"] == "offline"
        missing = await client.get("/devices/00000000-0000-0000-0000-000000000000")
        assert missing.status_code == 404


async def test_fleet_filters_by_batch(server: LiveServer, token: str) -> None:
    [a] = await provision(server.client, token, batch="web-filter-a")
    [b] = await provision(server.client, token, batch="web-filter-b")
    async with signed_in(server, token) as client:
        page = await client.get("/", params={"batch": "web-filter-a"})
        assert a["serial_number"] in page.text
        assert b["serial_number"] not in page.text


async def test_state_changing_forms_need_the_session_csrf_token(
    server: LiveServer, token: str
) -> None:
    [device] = await provision(server.client, token, batch="web-csrf")
    async with signed_in(server, token) as client:
        page = await client.get(f"/devices/{device['device_id']}")
        csrf = _csrf(page.text)
        path = f"/devices/{device['device_id']}/commands"
        refused = await client.post(path, data={"type": "diagnostics"})
        assert refused.status_code == 403
        foreign = await client.post(
            path,
            data={"type": "diagnostics", "csrf_token": csrf},
            headers={"Origin": "https://evil.example"},
        )
        assert foreign.status_code == 403
        accepted = await client.post(path, data={"type": "diagnostics", "csrf_token": csrf})
        assert accepted.status_code == 303
        assert accepted.headers["location"] == f"/devices/{device['device_id']}"
        assert "climasense_flash" in accepted.headers.get("set-cookie", "")


async def test_sign_out_ends_the_session_on_the_server(server: LiveServer, token: str) -> None:
    async with signed_in(server, token) as client:
        stolen = client.cookies["climasense_session"]
        page = await client.get("/")
        response = await client.post("/sign-out", data={"csrf_token": _csrf(page.text)})
        assert response.status_code == 303
    async with httpx.AsyncClient(base_url=server.url) as replay:
        replay.cookies.set("climasense_session", stolen)
        again = await replay.get("/", follow_redirects=False)
        assert again.status_code == 303
        assert again.headers["location"].startswith("/sign-in")


async def test_revoking_the_admin_token_ends_its_sessions(server: LiveServer) -> None:
    from tests.support.factories import admin_token

    token = await admin_token(server.services, "web-revoked")
    async with signed_in(server, token) as client:
        assert (await client.get("/", follow_redirects=False)).status_code == 200
        await server.services.pool.execute(
            "UPDATE admin_tokens SET revoked_at = now() WHERE name = 'web-revoked'"
        )
        assert (await client.get("/", follow_redirects=False)).status_code == 303


async def test_alerts_and_firmware_pages_render_with_or_without_their_backends(
    server: LiveServer, token: str
) -> None:
    async with signed_in(server, token) as client:
        for path in ("/alerts", "/alerts?state=resolved", "/firmware", "/firmware?release=x"):
            response = await client.get(path)
            assert response.status_code == 200, path
            assert "<h2>" in response.text or "<h1>" in response.text
        live = await client.get("/ui/firmware.json")
        assert live.status_code == 200
        assert set(live.json()) == {"fields", "bars"}


async def test_alerts_page_renders_the_acknowledge_form_of_an_open_alert(
    server: LiveServer, token: str
) -> None:
    # The table macro is imported by the page: the session's CSRF token must reach it.
    [device] = await provision(server.client, token, batch="dash-ack")
    rule = await create_rule(
        server.client,
        token,
        sensor_type="iaq",
        op=">",
        threshold=400,
        device_id=device["device_id"],
    )
    at = datetime.now(UTC) - timedelta(minutes=1)
    await store_readings(server.services.pool, device["device_id"], [("iaq", at, 480)])
    [alert] = await wait_for(
        lambda: alerts_of(server.client, token, rule_id=rule["rule_id"]), timeout=15
    )
    async with signed_in(server, token) as client:
        response = await client.get("/alerts")
        assert response.status_code == 200
        form = re.search(
            rf'action="/alerts/{alert["alert_id"]}/acknowledge">'
            r'<input type="hidden" name="csrf_token" value="([^"]+)">',
            response.text,
        )
        assert form is not None
        acknowledged = await client.post(
            f"/alerts/{alert['alert_id']}/acknowledge",
            data={"csrf_token": form.group(1)},
            follow_redirects=False,
        )
        assert acknowledged.status_code == 303
    [after] = await alerts_of(server.client, token, rule_id=rule["rule_id"])
    assert after["state"] == "acknowledged"


async def test_dashboard_is_not_in_the_openapi_document(server: LiveServer) -> None:
    paths = (await server.client.get("/openapi.json")).json()["paths"]
    assert not [p for p in paths if not p.startswith(("/v1/", "/admin/", "/healthz"))]


async def test_static_assets_are_served_from_the_package(server: LiveServer) -> None:
    script = await server.client.get("/static/dashboard.js")
    assert script.status_code == 200
    assert "fetch(" in script.text
    assert (await server.client.get("/static/dashboard.css")).status_code == 200


async def test_a_pending_command_can_be_cancelled_from_its_row(
    server: LiveServer, token: str
) -> None:
    [device] = await provision(server.client, token, batch="web-cancel")
    async with signed_in(server, token) as client:
        page = f"/devices/{device['device_id']}"
        sent = await client.post(
            f"{page}/commands",
            data={"type": "reboot", "csrf_token": _csrf((await client.get(page)).text)},
        )
        assert sent.status_code == 303
        html = (await client.get(page)).text
        # The row's one-button form carries the session's CSRF token.
        found = re.search(
            r'<form method="post" action="(/devices/[^"]+/cancel)">'
            r'<input type="hidden" name="csrf_token" value="([^"]+)">',
            html,
        )
        assert found, "no cancel form with a CSRF token in the command row"
        cancelled = await client.post(found.group(1), data={"csrf_token": found.group(2)})
        assert cancelled.status_code == 303
        live = (await client.get(f"/ui/devices/{device['device_id']}.json")).json()
        [row] = live["tables"]["commands"]
        assert row["cells"][1]["text"] == "cancelled"
        assert "cancelled (operator)" in row["cells"][5]["text"]


async def test_firmware_page_lists_releases_and_their_progress(
    server: LiveServer, token: str
) -> None:
    model = f"WEB-{secrets.token_hex(4)}"
    [device] = await provision(server.client, token, batch="web-ota", model=model)
    uploaded = await server.client.put(
        f"/admin/v1/firmware/{model}/1.1.0",
        content=b"image" * 100,
        headers={**bearer(token), "Content-Type": "application/octet-stream"},
    )
    assert uploaded.status_code == 201
    created = await server.client.post(
        f"/admin/v1/firmware/{model}/1.1.0/releases",
        json={"batches": ["web-ota"]},
        headers=bearer(token),
    )
    release_id = created.json()["release_id"]
    report = await server.client.post(
        "/v1/ota/status",
        json={"version": "1.1.0", "status": "completed"},
        headers=bearer(device["api_key"]),
    )
    assert report.status_code == 200
    async with signed_in(server, token) as client:
        # Listed without naming it in the URL (GET /admin/v1/releases).
        page = await client.get("/firmware")
        assert f'data-release="{release_id}"' in page.text
        assert f"{model} 1.1.0" in page.text
        live = (await client.get("/ui/firmware.json")).json()
        [bar] = [b for b in live["bars"] if b["id"] == release_id]
        assert bar["segments"] == [{"status": "completed", "count": 1, "percent": 100.0}]
        assert live["fields"][f"release-{release_id}-summary"] == "1 of 1 completed"
        assert live["fields"][f"release-{release_id}-state"] == "active"


async def test_a_zigbee_sensor_page_links_its_hub_and_offers_no_commands(
    server: LiveServer, token: str
) -> None:
    [hub] = await provision(server.client, token, kind="hub", batch="web-zb")
    [sensor] = await provision(server.client, token, kind="zigbee_sensor", batch="web-zb")
    paired = await server.client.post(
        "/v1/hub/sensors",
        json={"sensor_api_key": sensor["api_key"]},
        headers=bearer(hub["api_key"]),
    )
    assert paired.status_code == 201, paired.text
    async with signed_in(server, token) as client:
        page = (await client.get(f"/devices/{sensor['device_id']}")).text
        assert f'<a href="/devices/{hub["device_id"]}">{hub["serial_number"]}</a>' in page
        assert 'id="command-form"' not in page
        assert "no link of its own" in page
        hub_page = (await client.get(f"/devices/{hub['device_id']}")).text
        assert 'id="command-form"' in hub_page
        assert sensor["serial_number"] in hub_page
