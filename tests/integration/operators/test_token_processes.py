"""Revocation and expiry of operator tokens reach every `serve` process within 5 s (the same
credential feed device keys use), and an operator token never works on /v1."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_SECRET
from tests.support.processes import base_env, create_token, serve_process

pytestmark = pytest.mark.slow


def _refused_everywhere(urls: list[str], headers: dict[str, str], since: float) -> dict[str, float]:
    refused_after: dict[str, float] = {}
    while len(refused_after) < len(urls) and time.monotonic() - since < 10:
        for url in urls:
            if url in refused_after:
                continue
            response = httpx.get(f"{url}/admin/v1/whoami", headers=headers)
            if response.status_code == 401:
                refused_after[url] = time.monotonic() - since
        time.sleep(0.1)
    return refused_after


def test_token_revocation_and_expiry_reach_every_process_within_5_seconds(
    database_url: str, tmp_path: Path
) -> None:
    env = base_env(
        CLIMASENSE_DATABASE_URL=database_url,
        CLIMASENSE_SECRET_KEY=TEST_SECRET,
        CLIMASENSE_DATA_DIR=str(tmp_path),
        CLIMASENSE_RUN_WORKER="0",
    )
    admin_token = create_token(env, "root", "--role", "admin")
    admin = {"Authorization": f"Bearer {admin_token}"}
    with (
        serve_process(env, log_path=tmp_path / "a.log") as (url_a, _),
        serve_process(env, log_path=tmp_path / "b.log") as (url_b, _),
    ):
        victim = httpx.post(
            f"{url_a}/admin/v1/tokens", headers=admin, json={"name": "victim", "role": "operator"}
        ).json()
        expires = datetime.now(UTC) + timedelta(seconds=3)
        brief = httpx.post(
            f"{url_a}/admin/v1/tokens",
            headers=admin,
            json={"name": "brief", "role": "viewer", "expires_at": expires.isoformat()},
        ).json()
        victim_auth = {"Authorization": f"Bearer {victim['token']}"}
        brief_auth = {"Authorization": f"Bearer {brief['token']}"}
        for url in (url_a, url_b):  # both processes now hold both tokens in their caches
            assert httpx.get(f"{url}/admin/v1/whoami", headers=victim_auth).status_code == 200
            assert httpx.get(f"{url}/admin/v1/whoami", headers=brief_auth).status_code == 200
            assert httpx.get(f"{url}/v1/settings", headers=victim_auth).status_code == 401

        revoked_at = time.monotonic()
        deleted = httpx.delete(f"{url_a}/admin/v1/tokens/{victim['token_id']}", headers=admin)
        assert deleted.status_code == 204
        refused = _refused_everywhere([url_a, url_b], victim_auth, revoked_at)
        assert set(refused) == {url_a, url_b}
        assert max(refused.values()) <= 5.0, refused

        expired = _refused_everywhere([url_a, url_b], brief_auth, time.monotonic())
        assert set(expired) == {url_a, url_b}
        assert datetime.now(UTC) - expires < timedelta(seconds=5), expired
