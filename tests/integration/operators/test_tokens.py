"""Operator tokens over real HTTP: create (secret once, no-store), list without secrets,
revoke and expiry (401, dashboard sessions end), last_used_at kept without a write per request."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.web.test_dashboard import signed_in
from tests.support.factories import bearer
from tests.support.server import LiveServer


async def _all_tokens(server: LiveServer, token: str) -> list[dict[str, Any]]:
    """Every token, page by page (the session's database holds many)."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        response = await server.client.get("/admin/v1/tokens", params=params, headers=bearer(token))
        assert response.status_code == 200, response.text
        found += response.json()["tokens"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return found


async def _create(server: LiveServer, token: str, **body: object) -> dict[str, object]:
    response = await server.client.post("/admin/v1/tokens", json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    created: dict[str, object] = response.json()
    return created


async def test_a_created_token_works_with_its_role_and_is_listed_without_secrets(
    server: LiveServer, token: str
) -> None:
    created = await _create(server, token, name="ci", role="viewer")
    assert set(created) == {"token_id", "name", "role", "created_at", "expires_at", "token"}
    secret = str(created["token"])
    me = await server.client.get("/admin/v1/whoami", headers=bearer(secret))
    assert me.json() == {
        "token_id": created["token_id"],
        "name": "ci",
        "role": "viewer",
        "expires_at": None,
    }
    listed = await server.client.get("/admin/v1/tokens", headers=bearer(token))
    assert listed.status_code == 200
    assert secret not in listed.text
    assert "hash" not in listed.text
    assert "cache-control" not in listed.headers or "no-store" in listed.headers["cache-control"]
    [row] = [t for t in await _all_tokens(server, token) if t["token_id"] == created["token_id"]]
    assert set(row) == {
        "token_id",
        "name",
        "role",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    }
    assert row["last_used_at"] is not None  # the whoami above


async def test_invalid_token_bodies_are_422(server: LiveServer, token: str) -> None:
    for body in (
        {"name": "x", "role": "root"},
        {"name": "", "role": "admin"},
        {"name": "x", "role": "admin", "expires_at": "2030-01-01T00:00:00"},  # no offset
        {"name": "x", "role": "admin", "token": "chosen"},
    ):
        response = await server.client.post("/admin/v1/tokens", json=body, headers=bearer(token))
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"] == "validation_error"


async def test_last_used_at_is_written_at_most_once_a_minute(
    server: LiveServer, token: str
) -> None:
    created = await _create(server, token, name="busy", role="operator")
    secret = bearer(str(created["token"]))
    await server.client.get("/admin/v1/whoami", headers=secret)
    pool = server.services.pool
    first = await pool.fetchval(
        "SELECT last_used_at FROM admin_tokens WHERE token_id = $1::uuid", created["token_id"]
    )
    for _ in range(20):
        await server.client.get("/admin/v1/whoami", headers=secret)
    again = await pool.fetchval(
        "SELECT last_used_at FROM admin_tokens WHERE token_id = $1::uuid", created["token_id"]
    )
    assert first is not None
    assert again == first


async def test_revoking_a_token_refuses_it_and_ends_its_sessions_within_5_seconds(
    server: LiveServer, token: str
) -> None:
    created = await _create(server, token, name="leaver", role="operator")
    secret = str(created["token"])
    assert (await server.client.get("/admin/v1/devices", headers=bearer(secret))).status_code == 200
    async with signed_in(server, secret) as browser:
        assert (await browser.get("/", follow_redirects=False)).status_code == 200
        revoked_at = time.monotonic()
        response = await server.client.delete(
            f"/admin/v1/tokens/{created['token_id']}", headers=bearer(token)
        )
        assert response.status_code == 204
        # The dashboard session is gone at once (deleted in the revoking transaction).
        page = await browser.get("/", follow_redirects=False)
        assert page.status_code == 303
        while time.monotonic() - revoked_at < 5:
            refused = await server.client.get("/admin/v1/devices", headers=bearer(secret))
            if refused.status_code == 401:
                break
            await asyncio.sleep(0.1)
        assert refused.status_code == 401
        assert refused.json()["error"] == "unauthorized"
    [row] = [t for t in await _all_tokens(server, token) if t["token_id"] == created["token_id"]]
    assert row["revoked_at"] is not None
    again = await server.client.delete(
        f"/admin/v1/tokens/{created['token_id']}", headers=bearer(token)
    )
    assert again.status_code == 204
    missing = await server.client.delete(
        "/admin/v1/tokens/00000000-0000-0000-0000-000000000000", headers=bearer(token)
    )
    assert missing.status_code == 404


async def test_an_expired_token_gets_401_even_from_the_cache(
    server: LiveServer, token: str
) -> None:
    expires = datetime.now(UTC) + timedelta(seconds=2)
    created = await _create(
        server, token, name="temp", role="admin", expires_at=expires.isoformat()
    )
    secret = bearer(str(created["token"]))
    assert (await server.client.get("/admin/v1/whoami", headers=secret)).status_code == 200
    async with signed_in(server, str(created["token"])) as browser:
        await asyncio.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.2)
        response = await server.client.get("/admin/v1/whoami", headers=secret)
        assert response.status_code == 401
        assert (await browser.get("/", follow_redirects=False)).status_code == 303


async def test_create_token_cli_sets_role_and_expiry(server: LiveServer) -> None:
    from climasense.tokens.service import create_admin_token

    expires = datetime.now(UTC) + timedelta(days=3)
    secret = await create_admin_token(
        server.services.pool, server.services.hasher, "boot", "viewer", expires
    )
    me = (await server.client.get("/admin/v1/whoami", headers=bearer(secret))).json()
    assert me["role"] == "viewer"
    assert me["expires_at"] is not None


async def test_the_dashboard_tokens_page_shows_a_new_secret_once_and_revokes(
    server: LiveServer, token: str
) -> None:
    import re

    from tests.support.factories import admin_token

    operator = await admin_token(server.services, "not-an-admin", "operator")
    async with signed_in(server, operator) as browser:
        assert (await browser.get("/tokens")).status_code == 403
        assert (await browser.get("/audit")).status_code == 403
        assert 'href="/tokens"' not in (await browser.get("/")).text
    async with signed_in(server, token) as browser:
        page = await browser.get("/tokens")
        assert page.status_code == 200
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        created = await browser.post(
            "/tokens",
            data={"csrf_token": csrf.group(1), "name": "from-ui", "role": "viewer"},
        )
        assert created.status_code == 201
        assert created.headers["cache-control"] == "no-store"
        secret = re.search(r'data-field="new-token">(csa_[0-9A-Za-z]+)<', created.text)
        assert secret is not None
        me = await server.client.get("/admin/v1/whoami", headers=bearer(secret.group(1)))
        assert me.json()["role"] == "viewer"
        again = await browser.get("/tokens")
        assert secret.group(1) not in again.text
        token_id = me.json()["token_id"]
        revoked = await browser.post(
            f"/tokens/{token_id}/revoke", data={"csrf_token": csrf.group(1)}
        )
        assert revoked.status_code == 303
        audit = await browser.get("/audit", params={"target_id": token_id})
        assert "token.revoke" in audit.text
        assert "token.create" in audit.text
