"""Behind a TLS proxy (CONTRACT §8): sign-in works and the session cookie is `Secure`, with
X-Forwarded-Proto from a trusted proxy or with CLIMASENSE_PUBLIC_URL; another peer's
forwarding headers are ignored."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from climasense.settings import Settings
from climasense.web.sessions import SESSION_COOKIE, SIGNIN_COOKIE
from tests.conftest import make_settings
from tests.support.factories import admin_token
from tests.support.server import LiveServer, live_server


def _cookie(response: httpx.Response, name: str) -> tuple[str, str]:
    """(value, the whole Set-Cookie line) of cookie `name`."""
    for line in response.headers.get_list("set-cookie"):
        if line.startswith(f"{name}="):
            return line.split(";", 1)[0].split("=", 1)[1], line
    raise AssertionError(f"no {name} cookie in {response.headers}")


async def sign_in(server: LiveServer, origin: str, extra: dict[str, str]) -> httpx.Response:
    token = await admin_token(server.services)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        page = await client.get("/sign-in", headers=extra)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        # Sent by hand: a `Secure` cookie is not sent back over this plain-HTTP test link.
        value, _ = _cookie(page, SIGNIN_COOKIE)
        client.cookies.clear()
        return await client.post(
            "/sign-in",
            data={"csrf_token": csrf[1], "token": token, "next": "/"},
            headers={**extra, "Origin": origin, "Cookie": f"{SIGNIN_COOKIE}={value}"},
        )


async def _run(settings: Settings, origin: str, extra: dict[str, str]) -> httpx.Response:
    async with live_server(settings) as server:
        return await sign_in(server, origin.replace("PORT", server.url.rsplit(":", 1)[1]), extra)


async def test_sign_in_behind_a_trusted_tls_proxy(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, trusted_proxies=("127.0.0.1",))
    proto = {"X-Forwarded-Proto": "https"}
    response = await _run(settings, "https://127.0.0.1:PORT", proto)
    assert response.status_code == 303, response.text
    _, line = _cookie(response, SESSION_COOKIE)
    assert "Secure" in line


async def test_forwarded_proto_from_an_untrusted_peer_is_ignored(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path)
    response = await _run(settings, "https://127.0.0.1:PORT", {"X-Forwarded-Proto": "https"})
    assert response.status_code == 403


async def test_public_url_decides_the_origin_and_secure_cookie(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, public_url="https://fleet.example.com")
    response = await _run(settings, "https://fleet.example.com", {})
    assert response.status_code == 303, response.text
    _, line = _cookie(response, SESSION_COOKIE)
    assert "Secure" in line
    refused = await _run(settings, "http://127.0.0.1:PORT", {})
    assert refused.status_code == 403
