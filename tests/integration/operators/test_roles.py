"""The role matrix (CONTRACT §9) over real HTTP, for every route the app serves under /admin/v1:
routes are read from the app's route table, so a route added later cannot escape the check."""

from __future__ import annotations

import re
from uuid import uuid4

import pytest

from climasense.auth.roles import ADMIN_ONLY_PREFIXES
from tests.support.factories import admin_token, bearer
from tests.support.routes import served_routes
from tests.support.server import LiveServer

READS = {"GET", "HEAD", "OPTIONS"}


def operator_routes(server: LiveServer) -> list[tuple[str, str]]:
    """(method, concrete path) of every /admin/v1 route, path parameters filled with ids that
    name nothing (a route that gets past the role check answers 404/409/422, never changes
    anything)."""
    return [
        (method, re.sub(r"\{[^}]+\}", lambda _: str(uuid4()), path))
        for method, path in served_routes(server.app.api.routes)
        if path.startswith("/admin/v1")
    ]


def admin_only(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in ADMIN_ONLY_PREFIXES)


@pytest.fixture
async def tokens(server: LiveServer) -> dict[str, str]:
    return {
        role: await admin_token(server.services, f"matrix-{role}", role)
        for role in ("viewer", "operator", "admin")
    }


async def test_every_write_route_is_refused_to_a_viewer_and_allowed_by_role(
    server: LiveServer, tokens: dict[str, str]
) -> None:
    routes = operator_routes(server)
    writes = [(m, p) for m, p in routes if m not in READS]
    assert len(writes) >= 15  # the table really was read (devices, commands, firmware, …)
    assert ("POST", "/admin/v1/tokens") in writes
    # The fleet operations' writes (CONTRACT §11) are in the matrix too.
    generic = {(m, re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "{id}", p)) for m, p in writes}
    assert {
        ("POST", "/admin/v1/jobs"),
        ("POST", "/admin/v1/jobs/{id}/cancel"),
        ("POST", "/admin/v1/devices/tags"),
        ("PATCH", "/admin/v1/devices/{id}"),
        ("PATCH", "/admin/v1/releases/{id}"),
    } <= generic
    outcomes: dict[tuple[str, str, str], int] = {}
    for method, path in routes:
        for role, token in tokens.items():
            response = await server.client.request(
                method,
                path,
                headers={**bearer(token), "Content-Type": "application/json"},
                content=b"{}" if method not in READS else None,
            )
            outcomes[(role, method, path)] = response.status_code
            assert response.status_code != 401, (role, method, path, response.text)
            if response.status_code == 403:
                body = response.json()
                assert body["error"] == "forbidden", body
    for method, path in routes:
        write = method not in READS
        expected_refused = {
            "viewer": write or admin_only(path),
            "operator": admin_only(path),
            "admin": False,
        }
        for role, refused in expected_refused.items():
            status = outcomes[(role, method, path)]
            assert (status == 403) == refused, (role, method, path, status)


async def test_whoami_answers_every_role(server: LiveServer, tokens: dict[str, str]) -> None:
    for role, token in tokens.items():
        response = await server.client.get("/admin/v1/whoami", headers=bearer(token))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["role"] == role
        assert body["name"] == f"matrix-{role}"
        assert set(body) == {"token_id", "name", "role", "expires_at"}


async def test_a_viewer_dashboard_shows_no_forms_that_would_fail(
    server: LiveServer, tokens: dict[str, str]
) -> None:
    from tests.integration.web.test_dashboard import signed_in
    from tests.support.factories import provision

    [device] = await provision(server.client, tokens["admin"], batch="viewer-ui")
    async with signed_in(server, tokens["viewer"]) as client:
        for page in (
            f"/devices/{device['device_id']}",
            "/alerts",
            "/firmware",
            "/?batch=viewer-ui",  # a filter: the bulk-action form would show
        ):
            html = (await client.get(page)).text.lower()
            # Only the sign-out form is left.
            assert html.count('method="post"') == html.count('action="/sign-out"') == 1, page
        refused = await client.post(
            f"/devices/{device['device_id']}/commands",
            data={"type": "diagnostics", "csrf_token": "x"},
        )
        assert refused.status_code == 403
    async with signed_in(server, tokens["operator"]) as client:
        html = (await client.get(f"/devices/{device['device_id']}")).text
        assert html.lower().count('method="post"') > html.lower().count('action="/sign-out"')
