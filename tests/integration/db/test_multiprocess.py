"""Several processes on one database: concurrent migrations, revocation seen by all within 5 s."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import asyncpg
import httpx
import pytest

from climasense.db.migrate import discover
from tests.conftest import TEST_SECRET
from tests.support import postgres
from tests.support.processes import base_env, climasense_argv, create_token, serve_process

pytestmark = pytest.mark.slow


async def test_two_processes_migrating_at_once_apply_each_migration_once(
    pg_admin_url: str, tmp_path: Path
) -> None:
    name = await postgres.create_database(pg_admin_url)
    url = postgres.database_url(pg_admin_url, name)
    try:
        env = base_env(
            CLIMASENSE_DATABASE_URL=url,
            CLIMASENSE_SECRET_KEY=TEST_SECRET,
            CLIMASENSE_DATA_DIR=str(tmp_path),
        )
        processes = [
            await asyncio.create_subprocess_exec(
                *climasense_argv("migrate"),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(2)
        ]
        results = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in processes)), 120)
        for process, (_, err) in zip(processes, results, strict=True):
            assert process.returncode == 0, err.decode()
        conn = await asyncpg.connect(url)
        try:
            versions = [
                r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")
            ]
        finally:
            await conn.close()
        assert sorted(versions) == [m.version for m in discover()]
    finally:
        await postgres.drop_database(pg_admin_url, name)


def test_revocation_reaches_every_api_process_within_5_seconds(
    database_url: str, tmp_path: Path
) -> None:
    env = base_env(
        CLIMASENSE_DATABASE_URL=database_url,
        CLIMASENSE_SECRET_KEY=TEST_SECRET,
        CLIMASENSE_DATA_DIR=str(tmp_path),
        CLIMASENSE_RUN_WORKER="0",
    )
    token = create_token(env, "revoker")
    admin = {"Authorization": f"Bearer {token}"}
    with (
        serve_process(env, log_path=tmp_path / "a.log") as (url_a, _),
        serve_process(env, log_path=tmp_path / "b.log") as (url_b, _),
    ):
        device = httpx.post(
            f"{url_a}/admin/v1/devices",
            headers=admin,
            json={"kind": "standalone", "model": "CS-100", "batch": "revoke", "count": 1},
        ).json()["devices"][0]
        key = {"Authorization": f"Bearer {device['api_key']}"}
        for url in (url_a, url_b):  # both processes now hold the key in their caches
            assert httpx.get(f"{url}/v1/settings", headers=key).status_code == 200

        revoked_at = time.monotonic()
        assert (
            httpx.post(
                f"{url_a}/admin/v1/devices/{device['device_id']}/revoke", headers=admin
            ).status_code
            == 200
        )
        refused_after: dict[str, float] = {}
        while len(refused_after) < 2 and time.monotonic() - revoked_at < 10:
            for url in (url_a, url_b):
                if (
                    url not in refused_after
                    and httpx.get(f"{url}/v1/settings", headers=key).status_code == 401
                ):
                    refused_after[url] = time.monotonic() - revoked_at
            time.sleep(0.1)
        assert set(refused_after) == {url_a, url_b}
        assert max(refused_after.values()) <= 5.0, refused_after
